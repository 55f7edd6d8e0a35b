using System.Globalization;
using System.Net.Http.Headers;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// A stranger's webhook posts must not keep the host's memory: the built host run as a child process,
/// with a forge configured (an address nothing listens on: the route is open, the sweeps fail quietly), takes 100 posts of
/// 1 MiB each to <c>/hooks/forgejo</c>, (a) without a signature (refused before the body is read) and (b) with a
/// well-formed wrong one (the body is read and hashed, then refused). The host's resident memory (VmRSS) is read before,
/// after each case and after 10 s idle (<c>--idle</c>); the host's GC is never forced. Posts go one at a time.
/// </summary>
internal sealed class WebhookMemoryBench : IBenchMode
{
    public string Name => "webhook-memory";
    public string Summary => "host RSS before/after 100 unsigned and 100 wrongly signed 1 MiB forge-webhook posts";

    private const int Posts = 100;
    private const int BodyBytes = 1024 * 1024;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot(Name);
        PrintHeader("Hive webhook memory benchmark (issue 42, item 7)", root);
        Console.WriteLine($"host: dotnet {HostProcess.HostDll} (build {BuildConfiguration})");
        var summary = new List<string>();
        try
        {
            await using var host = await HostProcess.StartAsync(Path.Combine(root, "data"), [],
                extraArgs: ["--Hive:Forge:Url", "http://127.0.0.1:9/", "--Hive:Forge:WebhookUrl", "http://127.0.0.1:9/hooks/forgejo"]);
            using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            var body = new byte[BodyBytes];
            Array.Fill(body, (byte)' ');

            async Task<string> PostAll(int count, string? signature)
            {
                var statuses = new Dictionary<string, int>();
                for (var i = 0; i < count; i++)
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/forgejo") { Content = content };
                    request.Headers.Add("X-Forgejo-Event", "push");
                    request.Headers.Add("X-Forgejo-Delivery", $"bench-{Guid.NewGuid():N}");
                    if (signature is not null) request.Headers.Add("X-Forgejo-Signature", signature);
                    string outcome;
                    try
                    {
                        using var response = await http.SendAsync(request);
                        outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                    }
                    catch (HttpRequestException e)
                    {
                        // Answered before the body was sent, the host may close the connection under the client's upload.
                        outcome = "closed: " + (e.InnerException?.GetType().Name ?? e.GetType().Name);
                    }
                    statuses[outcome] = statuses.GetValueOrDefault(outcome) + 1;
                }
                return string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Value}×{s.Key}"));
            }

            void Report(string what)
            {
                var line = $"{what,-52} VmRSS {ProcStat.Status(host.ProcessId, "VmRSS") / 1024.0,8:F1} MiB";
                Console.WriteLine(line);
                summary.Add(line);
            }

            await PostAll(5, null); // warm-up: JIT, the route's first request
            await PostAll(5, new string('a', 64));
            Report("after start and 10 warm-up posts");
            var unsigned = await PostAll(Posts, null);
            Report($"after {Posts} unsigned 1 MiB posts ({unsigned})");
            var wrong = await PostAll(Posts, new string('a', 64));
            Report($"after {Posts} wrongly signed 1 MiB posts ({wrong})");
            var idle = options.Idle ?? 10;
            await Task.Delay(TimeSpan.FromSeconds(idle)); // a report after idling, not a synchronisation: nothing is waited for
            Report($"after {idle.ToString("0.#", CultureInfo.InvariantCulture)} s idle");
            Console.WriteLine($"host alive: {!host.HasExited}");
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
        Console.WriteLine();
        Console.WriteLine("==== summary (webhook-memory) ====");
        Console.WriteLine("command: dotnet run -c Release --project bench/Hive.Bench -- webhook-memory");
        Console.WriteLine($"cores: {Environment.ProcessorCount}; load average at end: {LoadAverage()}");
        foreach (var line in summary) Console.WriteLine(line);
        return 0;
    }
}
