using System.Diagnostics;
using System.Net.Http.Json;
using Hive.Bench.Infrastructure;
using Hive.Testing;
using static Hive.Bench.Infrastructure.BenchEnvironment;

namespace Hive.Bench.Modes;

/// <summary>
/// The merge queue's time to land four approved tickets over a trivial check (<c>sh -c 'test -f README.md'</c>, a
/// sandboxed job) as one batch (<c>MaxBatchSize</c> 4) against one by one (<c>MaxBatchSize</c> 1), each in a hive of its own on a
/// local bare repository. Per round and hive: four agents each claim a ticket, commit a file and submit; the operator
/// approves the four while the repository's queue is paused; the clock runs from the resume to the fourth landing.
/// Medians over <c>--rounds</c>.
/// </summary>
internal sealed class QueueBench : IBenchMode
{
    public string Name => "queue";
    public string Summary => "the merge queue: four approved tickets landed as one batch against one by one, over a trivial check";

    private const int Tickets = 4;

    public async Task<int> RunAsync(BenchOptions options)
    {
        var root = TempRoot("queue");
        PrintHeader("Hive merge queue benchmark (a batch of 4 against one by one)", root);
        try
        {
            var figures = new Dictionary<int, List<double>> { [Tickets] = [], [1] = [] };
            foreach (var size in new[] { Tickets, 1 })
            {
                await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["README.md"] = "a project\n" });
                await using var hive = await HiveInstance.StartOnAsync(Path.Combine(root, $"hive-{size}"), [],
                [
                    "--Logging:LogLevel:Microsoft.AspNetCore", "Error", "--Logging:LogLevel:Hive", "Warning",
                    "--Hive:Work:MergeQueue:BatchWaitSeconds", "0", "--Hive:Work:MergeQueue:MaxBatchSize", size.ToString(),
                ]);
                Ok(await hive.Http.PutAsJsonAsync("/api/workflows/reviewed", new { yaml = TestWorkflows.Reviewed(repository.Path, "[sh, -c, test -f README.md]") }));
                for (var round = 0; round < options.Rounds; round++)
                {
                    Ok(await hive.Http.PostAsJsonAsync("/api/merge-queue/pause", new { repository = repository.Path }));
                    var tickets = new List<long>();
                    for (var i = 0; i < Tickets; i++) tickets.Add(await BuildAndApproveAsync(hive, $"s{size}r{round}a{i}"));
                    var watch = Stopwatch.StartNew();
                    Ok(await hive.Http.PostAsJsonAsync("/api/merge-queue/resume", new { repository = repository.Path }));
                    await HiveInstance.Until(() => hive.QueryDb<long>("SELECT count(*) FROM merge_queue WHERE state = 'landed' AND ticket_id IN @tickets", new { tickets }) == Tickets,
                        TimeSpan.FromMinutes(5), "the four to land");
                    figures[size].Add(watch.Elapsed.TotalMilliseconds);
                    var batches = hive.QueryDb<long>("SELECT count(*) FROM merge_batches WHERE state = 'landed'");
                    Console.WriteLine($"  MaxBatchSize {size}, round {round + 1}: {Stats.F(watch.Elapsed.TotalMilliseconds, 0)} ms ({batches} batches landed so far); load {LoadAverage()}");
                    for (var i = 0; i < Tickets; i++) using (await hive.Http.DeleteAsync($"/api/agents/s{size}r{round}a{i}")) { }
                }
            }
            var batch = Stats.Median(figures[Tickets]);
            var single = Stats.Median(figures[1]);
            Console.WriteLine($"one batch of 4:   {Stats.F(batch, 0)} ms");
            Console.WriteLine($"one by one (4x1): {Stats.F(single, 0)} ms  ({Stats.F(single / batch, 2)}x the batch)");
            Console.WriteLine($"load {LoadAverage()}");
            return 0;
        }
        finally
        {
            RemoveOrKeep(root, options.Keep);
        }
    }

    /// <summary>A new agent claims a new ticket, commits a file of its own and submits; the operator approves it (the queue is paused).</summary>
    private static async Task<long> BuildAndApproveAsync(HiveInstance hive, string agent)
    {
        Ok(await hive.Http.PostAsJsonAsync("/api/agents", new { name = agent, driver = "external", capabilities = new[] { "code" } }));
        await using var socket = await hive.ConnectAsync(agent);
        using var created = await hive.Http.PostAsJsonAsync("/api/tickets", new { title = $"Work of {agent}", workflow = "reviewed" });
        Ok(created);
        var id = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetInt64();
        while (true)
        {
            var message = await socket.RecvAndAckAsync(30_000) ?? throw new InvalidOperationException($"no offer for {agent}");
            if (message.GetProperty("kind").GetString() == "ticket_offer" && message.GetProperty("ticket_id").GetInt64() == id) break;
        }
        AgentClient.Ok(await socket.CallAsync(new { op = "ticket_claim", id }));
        LocalRepository.CommitFiles(Path.Combine(hive.DataDir, "agents", agent, "work"), new Dictionary<string, string> { [$"{agent}.txt"] = "work\n" }, "work", agent);
        AgentClient.Ok(await socket.CallAsync(new { op = "ticket_submit", id, summary = "done" }));
        await HiveInstance.Until(() => hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @id", new { id }) == "review", TimeSpan.FromSeconds(60), "review");
        Ok(await hive.Http.PostAsJsonAsync($"/api/tickets/{id}/reviews", new { verdict = "approve" }));
        return id;
    }

    private static void Ok(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
    }
}
