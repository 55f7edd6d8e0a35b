using System.Diagnostics;
using System.Text;
using Hive.Bench.Infrastructure;
using Hive.Features.StateFiles;
using Hive.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The file-ref scanner (<c>ScanValidatedPaths</c>) against hostile ~100 KiB bodies: a real hive's
/// <see cref="IFileRefScanner"/> (resolved from a host started in this process) over a real data dir holding real
/// state files, secrets, a deep directory tree and a symlink loop. Per body: p50/p99/max of N timed scans.
/// Goal: under 50 ms per 100 KB adversarial body.
/// </summary>
internal sealed class ScanBench : IBenchMode
{
    public string Name => "scan";
    public string Summary => "file-ref scanner over ~100 KiB adversarial bodies: p50/p99/max per body vs the 50 ms goal";

    private const double GoalMs = 50;
    /// <summary>Every body is at least this many UTF-8 bytes (100 KiB).</summary>
    private const int BodyBytes = 100 * 1024;
    private const int DeepLevels = 200;
    /// <summary>Deep enough that 64 distinct missing files below it fill 100 KiB (the worst case under the cap).</summary>
    private const int DeeperLevels = 780;
    /// <summary>Timed scans of one body stop after this long (at least one is taken), so a pathological body cannot stall the run.</summary>
    private static readonly TimeSpan BudgetPerBody = TimeSpan.FromSeconds(2.5);
    private const int RealFiles = 100;

    private sealed record Body(string Name, string What, string Text, int? ExpectedRefs, string? ExpectedLastRef = null);

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("scan");
        var dataDir = Path.Combine(root, "hive");
        PrintHeader("Hive file-ref scanner benchmark", dataDir);
        var warmUp = Math.Max(5, options.Reps / 10);
        Console.WriteLine($"bodies: >= {Stats.N(BodyBytes)} UTF-8 bytes each   timed scans per body: {options.Reps} (after {warmUp} warm-up)   " +
                          $"goal: < {GoalMs} ms per body");

        var total = Stopwatch.StartNew();
        var hive = await HiveInstance.StartOnAsync(dataDir, ["alice", "bob"], ["--Hive:Database:Synchronous", options.Synchronous]);
        var failures = 0;
        try
        {
            PlantFiles(dataDir);
            var scanner = hive.Services.GetRequiredService<IFileRefScanner>();
            var bodies = Bodies(dataDir);

            Console.WriteLine();
            Console.WriteLine($"{"body",-22} {"KiB",6} {"refs",5} {"first ms",9} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"mean ms",8} {"n",5}  goal  what");
            var worst = (Name: "", P50: 0.0, P99: 0.0, Max: 0.0);
            var missed = new List<string>();
            var maxOnly = new List<string>();
            foreach (var body in bodies)
            {
                // The first scan ever of this body (JIT warm from earlier bodies, the dentries perhaps not).
                var first = Stopwatch.GetTimestamp();
                var refs = scanner.Scan(body.Text);
                var firstMs = Stats.Ms(Stopwatch.GetTimestamp() - first);

                // A slow body is not JIT-bound: skip its warm-up, and stop its samples at the time budget.
                if (firstMs < 100)
                    for (var i = 0; i < warmUp; i++) scanner.Scan(body.Text);
                var samples = new List<double>(options.Reps);
                var budget = Stopwatch.StartNew();
                while (samples.Count < options.Reps && (samples.Count == 0 || budget.Elapsed < BudgetPerBody))
                {
                    var before = Stopwatch.GetTimestamp();
                    scanner.Scan(body.Text);
                    samples.Add(Stats.Ms(Stopwatch.GetTimestamp() - before));
                }
                var latency = Latency.Of(samples);
                if (latency.P99 > worst.P99) worst = (body.Name, latency.P50, latency.P99, latency.Max);
                if (latency.P99 >= GoalMs) missed.Add(body.Name);
                else if (latency.Max >= GoalMs) maxOnly.Add(body.Name);

                var wrong = Check(body, refs);
                if (wrong is not null) failures++;
                var kib = Encoding.UTF8.GetByteCount(body.Text) / 1024.0;
                Console.WriteLine($"{body.Name,-22} {Stats.F(kib, 0),6} {refs.Count,5} {Stats.F(firstMs, 3),9} {Stats.F(latency.P50, 3),8} " +
                                  $"{Stats.F(latency.P99, 3),8} {Stats.F(latency.Max, 3),8} {Stats.F(latency.Mean, 3),8} {latency.Count,5}  " +
                                  $"{(latency.P99 < GoalMs ? latency.Max < GoalMs ? "met " : "met*" : "MISS")}  {body.What}");
                if (wrong is not null) Console.WriteLine($"    WRONG REFS: {wrong}");
            }

            Console.WriteLine();
            Console.WriteLine($"== Summary ({bodies.Count} bodies x {options.Reps} scans, {Environment.ProcessorCount} cores) ==");
            Console.WriteLine($"slowest body: {worst.Name}, p50 {Stats.F(worst.P50, 3)} ms, p99 {Stats.F(worst.P99, 3)} ms, max {Stats.F(worst.Max, 3)} ms");
            Console.WriteLine($"goal < {GoalMs} ms per 100 KB adversarial body (p99 of every body): {Verdict(worst.P99, GoalMs)}" +
                              (missed.Count > 0 ? $"   bodies over it: {string.Join(", ", missed)}" : ""));
            if (maxOnly.Count > 0)
                Console.WriteLine($"met* = p99 under the goal, but the single slowest scan over it (scheduling noise on a loaded box, or GC): {string.Join(", ", maxOnly)}");
            Console.WriteLine($"refs checks: {(failures == 0 ? "all as expected" : $"{failures} bodies WRONG")}");
            Console.WriteLine($"load average at end: {LoadAverage()}   total run time {Stats.F(total.Elapsed.TotalSeconds, 1)} s");
            return failures == 0 ? 0 : 1;
        }
        finally
        {
            await hive.DisposeAsync();
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static string? Check(Body body, IReadOnlyList<string> refs)
    {
        if (body.ExpectedRefs is { } expected && refs.Count != expected)
            return $"expected {expected} refs, got {refs.Count}: {string.Join(' ', refs.Take(5))}";
        if (body.ExpectedLastRef is { } last && (refs.Count == 0 || refs[^1] != last))
            return $"expected the last ref to be {last}, got {(refs.Count == 0 ? "none" : refs[^1])}";
        return null;
    }

    /// <summary>
    /// Real files, a secret, a deep tree (for walks that go far before finding the gap), a symlink loop and an
    /// escaping symlink, in alice's state dir and in shared/.
    /// </summary>
    private static void PlantFiles(string dataDir)
    {
        var state = Path.Combine(dataDir, "agents", "alice", "state");
        Directory.CreateDirectory(Path.Combine(state, "files"));
        Directory.CreateDirectory(Path.Combine(dataDir, "shared"));
        File.WriteAllText(Path.Combine(state, "plan.md"), "# plan\n");
        File.WriteAllText(Path.Combine(state, "README"), "readme\n");
        File.WriteAllText(Path.Combine(state, "forge-token"), "secret\n");
        File.WriteAllText(Path.Combine(dataDir, "shared", "spec.md"), "# spec\n");
        for (var i = 0; i < RealFiles; i++) File.WriteAllText(Path.Combine(state, "files", $"f{i:000}.md"), $"file {i}\n");

        Directory.CreateDirectory(Path.Combine([state, "deep", .. Enumerable.Repeat("d", DeeperLevels)]));
        File.CreateSymbolicLink(Path.Combine(state, "loop"), Path.Combine(state, "loop"));
        File.CreateSymbolicLink(Path.Combine(state, "escape"), "/etc");
    }

    private static List<Body> Bodies(string dataDir)
    {
        const string plan = "/agents/alice/state/plan.md";
        var deep = "/agents/alice/state/deep/" + string.Join('/', Enumerable.Repeat("d", DeepLevels));
        var deeper = "/agents/alice/state/deep/" + string.Join('/', Enumerable.Repeat("d", DeeperLevels));
        // One token as deep as a 1 KiB message body (the send cap) allows.
        var messageDeep = "/agents/alice/state/deep/" + string.Join('/', Enumerable.Repeat("d", (1024 - 40) / 2)) + "/x";
        var random = new Random(20261121);
        return
        [
            new("slashes", "100 KiB of '/': one 100 KiB token", Fill(_ => "/"), 0),
            new("dotdot-run", "'/agents/alice/state/../' repeated, no separators: one huge token",
                Fill(_ => "/agents/alice/state/../"), 0),
            new("dotdot-distinct", "'/agents/alice/state/../xN' space-separated: 64-candidate cap, all refused",
                Fill(i => $"/agents/alice/state/../x{i} "), 0),
            new("missing-distinct", "distinct missing '/agents/alice/state/nope-N.md': cap hit",
                Fill(i => $"/agents/alice/state/nope-{i}.md "), 0),
            new("real-distinct", $"'/agents/alice/state/files/fNNN.md' cycling {RealFiles} real files: cap hit, 64 opened",
                Fill(i => $"/agents/alice/state/files/f{i % RealFiles:000}.md "), 64),
            new("real-distinct-host", "the same in host form (<DataDir>/agents/...)",
                Fill(i => $"{dataDir}/agents/alice/state/files/f{i % RealFiles:000}.md "), 64),
            new("deep-missing", $"distinct missing files {DeepLevels} real dirs deep: cap hit, {DeepLevels}+ levels to resolve each",
                Fill(i => $"{deep}/miss-{i} "), 0),
            new("deep-missing-780", $"the same {DeeperLevels} real dirs deep: 64 tokens of ~1.6 KB fill 100 KiB",
                Fill(i => $"{deeper}/miss-{i} "), 0),
            new("msg-1KiB-deep", $"(not 100 KiB) a 1 KiB message body: one missing file {(1024 - 40) / 2} real dirs deep",
                messageDeep, 0),
            new("deep-dir-spellings", $"the real dir {DeepLevels} levels deep spelled 64+ ways ('/.' suffixes): opened, not a file",
                Fill(i => deep + string.Concat(Enumerable.Repeat("/.", i % 500 + 1)) + " "), 0),
            new("symlink-loop", "distinct '/agents/alice/state/loop/xN' through a symlink loop: cap hit",
                Fill(i => $"/agents/alice/state/loop/x{i} "), 0),
            new("symlink-escape", "distinct '/agents/alice/state/escape/xN' through a symlink to /etc: cap hit",
                Fill(i => $"/agents/alice/state/escape/x{i} "), 0),
            new("secret-distinct", "'/agents/alice/state/forge-token' spelled 64+ ways ('//', '/./'): cap hit, refused",
                Fill(i => "/agents/alice/state" + string.Concat(Enumerable.Repeat("/.", i % 500)) + "/forge-token "), 0),
            new("punct-after-path", "a real path then 100 KiB of .,;:)]} (trailing punctuation trimmed)",
                plan + Fill(i => ".,;:)]}"[i % 7].ToString()), 1, plan),
            new("punct-paths", "'(/agents/alice/state/plan.md),;:' repeated: one distinct token",
                Fill(_ => "(" + plan + "),;: "), 1, plan),
            new("duplicates", "the same real path repeated: 1 check, 100 KiB of dedupe",
                Fill(_ => plan + " "), 1, plan),
            new("noise-then-ref", "100 KiB of words without '/', one real ref at the end",
                Fill(i => Words[i % Words.Length] + " ") + " " + plan, 1, plan),
            new("slash-noise-then-ref", "100 KiB of 'a/b/' (slashes that start no token), one real ref at the end",
                Fill(_ => "a/b/") + " " + plan, 1, plan),
            new("noise-cap-then-ref", "64 distinct missing paths, then a real ref: the cap stops before it (no ref)",
                Fill(i => i < 64 ? $"/shared/none-{i} " : "word ") + " " + plan, 0),
            new("random-unicode", "random code points (BMP, astral pairs, '/', '.', spaces, controls)",
                RandomUnicode(random), null),
            new("random-path-soup", "random tokens over / . .. %2e %2f NUL fullwidth, agents and roots",
                RandomPathSoup(random), null),
        ];
    }

    private static readonly string[] Words =
        ["lorem", "ipsum", "dolor", "sit", "amet,", "consectetur", "(adipiscing)", "elit;", "sed:", "'do'", "\"eiusmod\"", "tempor."];

    /// <summary>Appends <paramref name="piece"/>(0), (1), ... until the text has at least <see cref="BodyBytes"/> UTF-8 bytes.</summary>
    private static string Fill(Func<int, string> piece)
    {
        var text = new StringBuilder(BodyBytes + 1024);
        var bytes = 0;
        for (var i = 0; bytes < BodyBytes; i++)
        {
            var next = piece(i);
            text.Append(next);
            bytes += Encoding.UTF8.GetByteCount(next);
        }
        return text.ToString();
    }

    private static string RandomUnicode(Random random) => Fill(_ =>
    {
        var roll = random.Next(100);
        if (roll < 8) return "/";
        if (roll < 12) return ".";
        if (roll < 16) return " ";
        if (roll < 18) return ((char)random.Next(0, 32)).ToString();
        if (roll < 25) return char.ConvertFromUtf32(random.Next(0x10000, 0x10FFFF + 1) is var cp && cp is >= 0xD800 and <= 0xDFFF ? 0x1F600 : cp);
        var c = (char)random.Next(0x20, 0xFFFF);
        return char.IsSurrogate(c) ? "\uFF0F" : c.ToString(); // a lone surrogate would not survive UTF-8; use a fullwidth '/'
    });

    private static string RandomPathSoup(Random random)
    {
        string[] parts = ["/", "//", ".", "..", "%2e", "%2f", "%252e", "\0", "\uFF0E\uFF0E", "\uFF0F", "agents", "alice", "bob", "state",
            "shared", "plan.md", "files", "f001.md", "forge-token", "loop", "escape", "deep", "d", "~", "\\", "..\\", " ", "\t", "\n"];
        return Fill(_ => parts[random.Next(parts.Length)]);
    }
}
