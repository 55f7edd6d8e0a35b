using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// Notifications: how soon an agent's question to the operator reaches a push receiver. Per channel type (an
/// ntfy channel with a token file, then a webhook with an HMAC key) a fresh in-process hive (<c>HiveInstance</c>) with
/// <c>Kinds:question:DelaySeconds</c> 0, <c>BatchSeconds</c> 0 and <c>Hive:PublicUrl</c> set (so each push carries its
/// one-tap links and the outbox records their token hashes), pushing to a <see cref="PushReceiver"/> over real HTTP on
/// loopback. Sequential: <c>--questions</c> (200) asks with three options over one agent socket, each waiting for its
/// push before the next (so no batch merges two), after 10 unmeasured ones; t0 is a Stopwatch stamp just before the
/// <c>ask</c> line is written (the operator answers each on the dashboard once its push is in), and (also) the question's <c>asked_at</c> in the database; t1 is the receiver's stamp when its
/// handler got the request. The delivery's <c>created_at</c> (when the sender batched the item) splits each figure into
/// "picked up" and "sent". Burst: 50 agents ask at once; how many pushes came, with how many items, and when the last one did.
/// </summary>
internal sealed partial class NotifyBench : IBenchMode
{
    public string Name => "notify";
    public string Summary => "notifications: agent's question -> push received (ntfy, signed webhook), one at a time and a burst of 50";

    private const int WarmUp = 10;
    private const int BurstSize = 50;
    private const string PublicUrl = "https://hive.example.net";
    private const string HookKey = "whsec-bench-0123456789abcdef0123456789";
    private static readonly TimeSpan PushTimeout = TimeSpan.FromSeconds(15);
    private static readonly string[] Options = ["yes", "no", "later"];

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("notify");
        Directory.CreateDirectory(root);
        PrintHeader("Hive notifications benchmark (issue 29)", root);
        Console.WriteLine($"per channel: a fresh hive, Kinds:question:DelaySeconds 0, BatchSeconds 0, PublicUrl set (3 one-tap links per push); " +
                          $"{WarmUp} warm-up + {options.Questions} sequential questions, then a burst of {BurstSize} at once");
        var ok = true;
        var summary = new List<string>();
        try
        {
            foreach (var type in new[] { "ntfy", "webhook" })
            {
                Console.WriteLine();
                Console.WriteLine($"-- {type} --   load average: {LoadAverage()}");
                var result = await ChannelAsync(type, Path.Combine(root, type), options.Questions);
                ok &= result.Ok;
                summary.AddRange(result.Summary.Select(line => $"{type,-8}{line}"));
            }
            Console.WriteLine();
            Console.WriteLine("== summary ==");
            foreach (var line in summary) Console.WriteLine(line);
            Console.WriteLine($"load average at end: {LoadAverage()}");
            return ok ? 0 : 1;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    private sealed record ChannelResult(bool Ok, List<string> Summary);

    private sealed record Sample(long QuestionId, double FromSend, double Acked, PushReceiver.Request Push);

    private static string[] ChannelArgs(string type, string dir, Uri receiver)
    {
        var args = new List<string>
        {
            "--Logging:LogLevel:Microsoft.AspNetCore", "Error",
            "--Hive:PublicUrl", PublicUrl,
            "--Hive:Notifications:Kinds:question:DelaySeconds", "0",
            "--Hive:Notifications:BatchSeconds", "0",
            "--Hive:Notifications:Channels:phone:Type", type,
        };
        if (type == "ntfy")
        {
            var token = Path.Combine(dir, "ntfy-token");
            File.WriteAllText(token, "tk_bench_0123456789\n");
            args.AddRange(["--Hive:Notifications:Channels:phone:Url", new Uri(receiver, "/hive-alerts").ToString(),
                           "--Hive:Notifications:Channels:phone:TokenFile", token]);
        }
        else
        {
            var secret = Path.Combine(dir, "hook-secret");
            File.WriteAllText(secret, HookKey + "\n");
            args.AddRange(["--Hive:Notifications:Channels:phone:Url", new Uri(receiver, "/hooks/hive").ToString(),
                           "--Hive:Notifications:Channels:phone:SecretFile", secret]);
        }
        return [.. args];
    }

    private static async Task<ChannelResult> ChannelAsync(string type, string dir, int count)
    {
        Directory.CreateDirectory(dir);
        var ok = true;
        var lines = new List<string>();
        await using var receiver = await PushReceiver.StartAsync();
        var burstNames = Enumerable.Range(0, BurstSize).Select(i => $"b{i:00}").ToArray();
        var started = Stopwatch.GetTimestamp();
        await using var hive = await HiveInstance.StartOnAsync(Path.Combine(dir, "data"), ["asker", .. burstNames],
            ChannelArgs(type, dir, receiver.Url));
        Console.WriteLine($"hive started in {Stats.F(Stats.Ms(Stopwatch.GetTimestamp() - started), 0)} ms; receiver {receiver.Url}");
        var badSignatures = 0;
        bool Signed(PushReceiver.Request push) => type != "webhook" ||
            push.Header("X-Hive-Signature") == "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(HookKey), push.Body));

        // Sequential: one question, its push, the next.
        await using (var asker = await hive.ConnectAsync("asker"))
        {
            var samples = new List<Sample>(WarmUp + count);
            for (var i = 0; i < WarmUp + count; i++)
            {
                var text = $"{type} q{i:0000}: deploy?";
                var t0 = Stopwatch.GetTimestamp();
                var reply = AgentClient.Ok(await asker.CallAsync(new { op = "ask", question = text, options = Options }));
                var acked = Stopwatch.GetTimestamp();
                PushReceiver.Request push;
                try
                {
                    push = await receiver.NextAcceptedAsync(r => r.Text.Contains(text, StringComparison.Ordinal), PushTimeout);
                }
                catch (TimeoutException e)
                {
                    Console.WriteLine($"  MISSING: no push for question {i} within {PushTimeout.TotalSeconds} s ({e.Message})");
                    ok = false;
                    break;
                }
                if (!Signed(push)) badSignatures++;
                var id = reply.GetProperty("id").GetInt64();
                samples.Add(new Sample(id, Stats.Ms(push.Timestamp - t0), Stats.Ms(acked - t0), push));
                // The operator answers on the dashboard (after t1): an agent may have only 100 questions open.
                using var answered = await hive.Http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = "yes" });
                answered.EnsureSuccessStatusCode();
            }
            var stamps = Stamps(hive, samples.Select(s => s.QuestionId));
            var measured = samples.Skip(WarmUp).ToList();
            var first = samples.FirstOrDefault();
            if (first is not null)
                Console.WriteLine($"first push of the hive (cold: JIT, the sender's first connection): {Stats.F(first.FromSend, 1)} ms from the ask; " +
                                  $"warm-up {WarmUp}: {string.Join(' ', samples.Take(WarmUp).Select(s => Stats.F(s.FromSend, 1)))} ms");
            var fromSend = Latency.Of(measured.Select(s => s.FromSend));
            var fromAsked = Latency.Of(measured.Where(s => stamps.ContainsKey(s.QuestionId))
                .Select(s => (s.Push.At - stamps[s.QuestionId].AskedAt).TotalMilliseconds));
            var pickedUp = Latency.Of(measured.Where(s => stamps.GetValueOrDefault(s.QuestionId)?.BatchedAt is not null)
                .Select(s => (stamps[s.QuestionId].BatchedAt!.Value - stamps[s.QuestionId].AskedAt).TotalMilliseconds));
            var sent = Latency.Of(measured.Where(s => stamps.GetValueOrDefault(s.QuestionId)?.BatchedAt is not null)
                .Select(s => (s.Push.At - stamps[s.QuestionId].BatchedAt!.Value).TotalMilliseconds));
            Console.WriteLine($"ask written -> ask acknowledged:          {Latency.Of(measured.Select(s => s.Acked))}");
            Console.WriteLine($"ask written -> push received:             {fromSend}");
            Console.WriteLine($"asked_at (db) -> push received:           {fromAsked}");
            Console.WriteLine($"  asked_at -> delivery created_at:        {pickedUp}   (the sender woke and batched it)");
            Console.WriteLine($"  delivery created_at -> push received:   {sent}   (compose, links, HTTP POST)");
            var slowest = measured.OrderByDescending(s => s.FromSend).Take(3).ToList();
            foreach (var slow in slowest)
            {
                var stamp = stamps.GetValueOrDefault(slow.QuestionId);
                var picked = stamp?.BatchedAt is { } b ? Stats.F((b - stamp.AskedAt).TotalMilliseconds, 1) : "?";
                var rest = stamp?.BatchedAt is { } b2 ? Stats.F((slow.Push.At - b2).TotalMilliseconds, 1) : "?";
                Console.WriteLine($"  slow: question {slow.QuestionId} (#{samples.IndexOf(slow) - WarmUp}): {Stats.F(slow.FromSend, 1)} ms " +
                                  $"(ack {Stats.F(slow.Acked, 1)}, picked up {picked}, then sent {rest}; {stamp?.Attempts ?? 0} attempt(s))");
            }
            if (measured.Count != count) ok = false;
            lines.Add($"sequential  ask written -> received  {fromSend}");
            lines.Add($"sequential  asked_at    -> received  {fromAsked}");
        }

        // Burst: every burst agent asks at once.
        var agents = new List<AgentClient>();
        try
        {
            foreach (var name in burstNames) agents.Add(await hive.ConnectAsync(name));
            var before = receiver.Requests.Count;
            var t0 = Stopwatch.GetTimestamp();
            var asks = agents.Select((agent, j) => agent.CallAsync(new { op = "ask", question = $"{type} burst-{j:00}: roll back?", options = Options })).ToArray();
            var replies = await Task.WhenAll(asks);
            var allAcked = Stats.Ms(Stopwatch.GetTimestamp() - t0);
            foreach (var reply in replies) AgentClient.Ok(reply);
            var seen = new HashSet<int>();
            var pushes = new List<(double At, int Items)>();
            var deadline = Stopwatch.GetTimestamp() + (long)(PushTimeout.TotalSeconds * Stopwatch.Frequency);
            while (seen.Count < BurstSize)
            {
                var left = TimeSpan.FromSeconds(Math.Max(0.001, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
                PushReceiver.Request push;
                try
                {
                    push = await receiver.NextAcceptedAsync(null, left);
                }
                catch (TimeoutException)
                {
                    break;
                }
                var items = BurstItem().Matches(push.Text).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
                seen.UnionWith(items);
                pushes.Add((Stats.Ms(push.Timestamp - t0), items.Count));
                if (!Signed(push)) badSignatures++;
            }
            await Task.Delay(TimeSpan.FromSeconds(2)); // anything more (a duplicate) would come now
            var extra = receiver.Requests.Count - before - pushes.Count;
            var itemCounts = string.Join('+', pushes.Select(p => p.Items.ToString(CultureInfo.InvariantCulture)));
            var times = string.Join(' ', pushes.Select(p => Stats.F(p.At, 0)));
            Console.WriteLine($"burst of {BurstSize}: all asks acknowledged after {Stats.F(allAcked, 1)} ms; {pushes.Count} pushes ({itemCounts} items), " +
                              $"{seen.Count}/{BurstSize} questions, at {times} ms; {extra} request(s) more in the next 2 s");
            var last = pushes.Count > 0 ? pushes.Max(p => p.At) : double.NaN;
            lines.Add($"burst {BurstSize}    {pushes.Count} pushes ({itemCounts} items), {seen.Count}/{BurstSize} questions, first at " +
                      $"{Stats.F(pushes.Count > 0 ? pushes.Min(p => p.At) : double.NaN, 1)} ms, last at {Stats.F(last, 1)} ms (asks all acked at {Stats.F(allAcked, 1)} ms)");
            if (seen.Count != BurstSize || extra != 0) ok = false;
        }
        finally
        {
            foreach (var agent in agents) await agent.DisposeAsync();
        }
        if (type == "webhook")
        {
            Console.WriteLine($"webhook signatures checked: {badSignatures} invalid");
            if (badSignatures > 0) ok = false;
        }
        return new ChannelResult(ok, lines);
    }

    private sealed record Stamp(DateTimeOffset AskedAt, DateTimeOffset? BatchedAt, long Attempts);

    /// <summary>Each question's <c>asked_at</c> and its delivery's <c>created_at</c> (when the sender batched it) and attempts.</summary>
    private static Dictionary<long, Stamp> Stamps(HiveInstance hive, IEnumerable<long> ids) =>
        hive.QueryDbList<(long Id, string AskedAt, string? BatchedAt, long? Attempts)>("""
            SELECT q.id, q.asked_at, d.created_at, d.attempts FROM questions q
            LEFT JOIN notification_items i ON i.subject = 'question:' || q.id
            LEFT JOIN notification_deliveries d ON d.id = i.delivery_id
            WHERE q.id IN @ids
            """, new { ids = ids.ToArray() })
            .ToDictionary(r => r.Id, r => new Stamp(Parse(r.AskedAt), r.BatchedAt is null ? null : Parse(r.BatchedAt), r.Attempts ?? 0));

    private static DateTimeOffset Parse(string stamp) =>
        DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    [GeneratedRegex(@"burst-(\d\d)")]
    private static partial Regex BurstItem();
}
