using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Hive.Bench.Modes;

/// <summary>
/// The swarm's scripted operator, once a second: answers every open question (body <c>swarm ans-&lt;question id&gt;</c>) and,
/// until the drain, keeps as many messages waiting for agents as there are agents (bodies <c>swarm op-&lt;k&gt;</c>).
/// A refused or failed call (the host is down) is tried again on the next round.
/// </summary>
internal static class SwarmOperator
{
    public static async Task RunAsync(SwarmRun run, int agents, Random random, CancellationToken ct)
    {
        var next = 0;
        while (!ct.IsCancellationRequested)
        {
            if (run.Http is { } http)
            {
                await AttemptAsync(run, async () =>
                {
                    var questions = await http.GetFromJsonAsync<JsonObject>("/api/questions?pending_limit=500&limit=1", ct);
                    foreach (var q in questions?["pending"]?.AsArray() ?? [])
                    {
                        var id = q!["id"]!.GetValue<long>();
                        using var answered = await http.PostAsJsonAsync($"/api/questions/{id}/answer", new { answer = $"swarm ans-{id}" }, ct);
                        if (answered.IsSuccessStatusCode) Interlocked.Increment(ref run.QuestionsAnswered);
                        else run.Failed($"answer {id}: {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync(ct)}");
                    }
                }, ct);
                if (!run.Draining)
                    await AttemptAsync(run, async () =>
                    {
                        for (var i = run.MailWaitingForAgents(); i < agents && !ct.IsCancellationRequested; i++)
                        {
                            var uid = $"op-{next++}";
                            using var sent = await http.PostAsJsonAsync("/api/messages",
                                new { to = $"a{random.Next(agents)}", body = $"swarm {uid}", client_id = uid }, ct);
                            if (sent.IsSuccessStatusCode) lock (run.OperatorSent) run.OperatorSent.Add(uid);
                            else run.Failed($"send {uid}: {(int)sent.StatusCode} {await sent.Content.ReadAsStringAsync(ct)}");
                        }
                    }, ct);
            }
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>One step of the operator; a failure (the host is down, say) is counted and the step tried again next round.</summary>
    private static async Task AttemptAsync(SwarmRun run, Func<Task> step, CancellationToken ct)
    {
        try
        {
            await step();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SqliteException or JsonException or ObjectDisposedException
                                      or InvalidOperationException)
        {
            run.Failed(e.GetType().Name + ": " + e.Message);
        }
    }
}
