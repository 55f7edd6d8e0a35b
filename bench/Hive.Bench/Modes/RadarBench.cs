using System.Diagnostics;
using Hive.Bench.Infrastructure;
using Hive.Features.Work.Radar;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The conflict radar's pass over 100 active tickets of 20 changed files each, as <c>ConflictRadar</c> makes
/// it: a repository of 400 files, 100 branches each changing 20 of them (a few lines each, some shared). Per round: a
/// <i>cold</i> pass (every branch moved: one <c>git diff-tree --stdin -U0</c> per 25 branches, parsed, then the rule), a <i>warm</i> pass (nothing
/// moved: the heads from one <c>git for-each-ref</c>, then the rule on what was kept), the rule alone, and the floor:
/// one <c>git for-each-ref</c>, the least any pass costs. Medians over <c>--rounds</c>.
/// </summary>
internal sealed class RadarBench : IBenchMode
{
    public string Name => "radar";
    public string Summary => "the conflict radar: a pass over 100 active tickets of 20 changed files each (cold, warm, the rule alone)";

    private const int Tickets = 100;
    private const int FilesPerTicket = 20;
    private const int Files = 400;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("radar");
        PrintHeader("Hive conflict radar benchmark (issue 47)", root);
        try
        {
            var repo = Path.Combine(root, "repo");
            Directory.CreateDirectory(repo);
            LocalRepository.Git(repo, "init", "-q", "-b", "main");
            for (var f = 0; f < Files; f++)
                await File.WriteAllTextAsync(Path.Combine(repo, $"f{f:D3}.txt"), string.Concat(Enumerable.Range(1, 50).Select(n => $"file {f} line {n}\n")));
            LocalRepository.CommitFiles(repo, new Dictionary<string, string>(), "base", "bench");
            var random = new Random(47);
            var made = Stopwatch.StartNew();
            for (var t = 0; t < Tickets; t++)
            {
                LocalRepository.Git(repo, "checkout", "-q", "-B", $"ticket/{t}-bench", "main");
                foreach (var f in Enumerable.Range(0, Files).OrderBy(_ => random.Next()).Take(FilesPerTicket))
                {
                    var path = Path.Combine(repo, $"f{f:D3}.txt");
                    var lines = (await File.ReadAllLinesAsync(path)).ToList();
                    var at = random.Next(0, 48);
                    lines[at] = $"ticket {t} was here";
                    lines[at + 2] = $"and here, {t}";
                    await File.WriteAllLinesAsync(path, lines);
                }
                LocalRepository.CommitFiles(repo, new Dictionary<string, string>(), $"ticket {t}", "bench");
            }
            LocalRepository.Git(repo, "checkout", "-q", "main");
            var baseSha = LocalRepository.RevParse(repo, "main");
            Console.WriteLine($"{Tickets} branches of {FilesPerTicket} changed files each over {Files} files, made in {Stats.F(made.Elapsed.TotalSeconds, 1)} s; load {LoadAverage()}");

            var cold = new List<double>();
            var warm = new List<double>();
            var rule = new List<double>();
            var floor = new List<double>();
            var risks = 0;
            for (var round = 0; round < options.Rounds; round++)
            {
                var watch = Stopwatch.StartNew();
                ForEachRef(repo);
                floor.Add(watch.Elapsed.TotalMilliseconds);

                watch.Restart();
                var heads = ForEachRef(repo);
                var patches = new List<string>();
                foreach (var batch in heads.Chunk(25))
                    patches.AddRange(RadarPass.SplitDiffTree(LocalRepository.GitWithInput(repo, string.Concat(batch.Select(b => RadarPass.DiffTreeLine(b.Sha, baseSha))), RadarPass.DiffTree),
                        batch.Select(b => b.Sha).ToList()));
                var changes = patches.Select((patch, t) => new TicketChanges(t, $"agent{t}", "repo", RadarPass.Parse(patch))).ToList();
                risks = RadarPass.Find(changes, []).Count;
                cold.Add(watch.Elapsed.TotalMilliseconds);

                watch.Restart();
                var moved = ForEachRef(repo).Where((h, i) => h.Sha != heads[i].Sha).Count();
                RadarPass.Find(changes, []);
                warm.Add(watch.Elapsed.TotalMilliseconds);
                if (moved != 0) throw new InvalidOperationException("a branch moved between passes");

                const int Repeats = 20;
                watch.Restart();
                for (var i = 0; i < Repeats; i++) RadarPass.Find(changes, []);
                rule.Add(watch.Elapsed.TotalMilliseconds / Repeats);
            }
            var f0 = Stats.Median(floor);
            Console.WriteLine($"risks found per pass: {risks} (pairs of tickets sharing a file)");
            Console.WriteLine($"floor (one git for-each-ref):       {Stats.F(f0)} ms");
            Console.WriteLine($"cold pass (4 diff-tree runs + rule): {Stats.F(Stats.Median(cold))} ms  ({Stats.F(Stats.Median(cold) / f0, 1)}x the floor)");
            Console.WriteLine($"warm pass (heads + rule):           {Stats.F(Stats.Median(warm))} ms  ({Stats.F(Stats.Median(warm) / f0, 1)}x the floor)");
            Console.WriteLine($"the rule alone (100 x 20 files):    {Stats.F(Stats.Median(rule), 3)} ms");
            Console.WriteLine($"goal: a pass well under a second; cold {Verdict(Stats.Median(cold), 1000)}, warm {Verdict(Stats.Median(warm), 1000)}; load {LoadAverage()}");
            return 0;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private static List<(string Branch, string Sha)> ForEachRef(string repo) =>
        LocalRepository.Git(repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/ticket/")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToList();
}
