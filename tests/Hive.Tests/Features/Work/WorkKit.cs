using System.Net.Http.Json;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Contracts.Work;
using Hive.Features.Containers;

namespace Hive.Tests.Features.Work;

/// <summary>What the work-layer tests share: agents with capabilities, tickets and workflows over HTTP, and offers read from an agent's socket.</summary>
internal static class WorkKit
{
    public static async Task<string> NewAgentAsync(this HiveInstance hive, string name, params string[] capabilities)
    {
        var unique = $"{name}-{Guid.NewGuid().ToString("N")[..6]}";
        await hive.Service<MediatR.IMediator>().Send(new CreateAgent.Command(unique, null, Driver: "external", Capabilities: capabilities));
        return unique;
    }

    public static async Task<JsonElement> CreateTicketAsync(this HiveInstance hive, object body)
    {
        using var response = await hive.Http.PostAsJsonAsync("/api/tickets", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> SendJsonAsync(this HiveInstance hive, HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        using var response = await hive.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>A workflow of its own for one test (a unique name, so the board's other tests' tickets never meet it).</summary>
    public static async Task PutWorkflowAsync(this HiveInstance hive, string name, string yaml)
    {
        var (status, body) = await hive.SendJsonAsync(HttpMethod.Put, $"/api/workflows/{name}", new { yaml });
        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {body}");
    }

    public static async Task<JsonElement> TicketAsync(this HiveInstance hive, long id) => (await hive.GetJsonAsync($"/api/tickets/{id}")).GetProperty("ticket");

    /// <summary>The ticket with its history, notes and children, as <c>GET /api/tickets/{id}</c> shows it.</summary>
    public static Task<TicketDetail> DetailAsync(this HiveInstance hive, long id) => hive.GetAsync<TicketDetail>($"/api/tickets/{id}");

    /// <summary>The ticket as <c>GET /api/tickets/{id}</c> shows it.</summary>
    public static async Task<TicketView> TicketViewAsync(this HiveInstance hive, long id) => (await hive.DetailAsync(id)).Ticket;

    /// <summary>Creates a ticket as the operator (asserting 201); its id.</summary>
    public static async Task<long> NewTicketAsync(this HiveInstance hive, object body) =>
        (await hive.CreateTicketAsync(body)).Deserialize<TicketView>(HiveJson.Options)!.Id;

    /// <summary>The next message on the agent's socket as its record (acknowledged), within <paramref name="waitMs"/>; throws when none came.</summary>
    public static async Task<MessageView> NextMessageAsync(AgentClient agent, int waitMs, string what) =>
        (await agent.RecvAndAckAsync(waitMs) ?? throw new Xunit.Sdk.XunitException(what)).Deserialize<MessageView>(HiveJson.Options)!;

    /// <summary>The next <c>ticket_offer</c> the agent receives (acknowledged), within <paramref name="seconds"/>; null if none came.</summary>
    public static Task<JsonElement?> NextOfferAsync(AgentClient agent, int seconds = 10) => NextOfKindOrNoneAsync(agent, "ticket_offer", seconds);

    public static long OfferedTicket(JsonElement offer) => offer.GetProperty("ticket_id").GetInt64();

    /// <summary>
    /// A new ticket "Say hello" of <paramref name="workflow"/>, offered to <paramref name="agent"/> (within 30 s) and claimed
    /// by it: the ticket's id and its workspace's branch.
    /// </summary>
    public static async Task<(long Id, string Branch)> ClaimNewTicketAsync(this HiveInstance hive, AgentClient agent, string workflow)
    {
        var id = (await hive.CreateTicketAsync(new { title = "Say hello", workflow })).GetProperty("id").GetInt64();
        Assert.Equal(id, OfferedTicket(await NextOfferAsync(agent, 30) ?? throw new Xunit.Sdk.XunitException("no offer")));
        Ok(await agent.CallAsync(new { op = "ticket_claim", id }));
        var workspace = (await hive.GetJsonAsync("/api/workspaces")).EnumerateArray().Single(w => w.GetProperty("ticket_id").GetInt64() == id);
        var branch = workspace.GetProperty("branch").GetString()!;
        Assert.Equal($"ticket/{id}-say-hello", branch);
        return (id, branch);
    }

    /// <summary>
    /// A new agent (<paramref name="name"/> made unique) claims a new ticket of <paramref name="workflow"/>, commits
    /// <paramref name="files"/> and submits (then goes away); the operator approves it. The ticket's id and the agent's name.
    /// </summary>
    public static async Task<(long Id, string Agent)> BuildAndApproveAsync(this HiveInstance hive, string name, string workflow, IReadOnlyDictionary<string, string> files)
    {
        var agent = await hive.NewAgentAsync(name, "code");
        long id;
        await using (var socket = await hive.ConnectAsync(agent))
        {
            (id, _) = await hive.ClaimNewTicketAsync(socket, workflow);
            await CommitAsync(hive, agent, files, $"work of {agent}");
            Ok(await socket.CallAsync(new { op = "ticket_submit", id, summary = "done" }));
        }
        await HiveInstance.Until(() => hive.QueryDb<string>("SELECT phase FROM tickets WHERE id = @id", new { id }) == "review", TimeSpan.FromSeconds(30), $"ticket {id} in review");
        var (status, body) = await hive.SendJsonAsync(HttpMethod.Post, $"/api/tickets/{id}/reviews", new { verdict = "approve" });
        Assert.True(status == HttpStatusCode.Created, body.ToString());
        return (id, agent);
    }

    public static JsonElement Ok(JsonElement reply) => AgentClient.Ok(reply);

    public static JsonElement Refused(JsonElement reply, string code)
    {
        Assert.False(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        return reply;
    }

    /// <summary>Writes <paramref name="files"/> in the agent's worktree and commits them as it would; the commit's sha.</summary>
    public static Task<string> CommitAsync(HiveInstance hive, string agent, IReadOnlyDictionary<string, string> files, string subject) =>
        CommitInAsync(Path.Combine(hive.DataDir, "agents", agent, "work"), files, subject);

    public static Task<string> CommitInAsync(string work, IReadOnlyDictionary<string, string> files, string subject) =>
        Task.FromResult(LocalRepository.CommitFiles(work, files, subject, "agent")); // the worktree is the agent's (its uid); the test, root, is its hands

    /// <summary>The next message of <paramref name="kind"/> on the socket (acknowledged; others before it are acknowledged and passed over), within 30 s.</summary>
    public static async Task<JsonElement> NextOfKindAsync(AgentClient socket, string kind) =>
        await NextOfKindOrNoneAsync(socket, kind, 30) ?? throw new Xunit.Sdk.XunitException($"no {kind} message within 30 s");

    /// <summary>The next message of <paramref name="kind"/> within <paramref name="seconds"/> (those before it acknowledged and passed over); null if none came.</summary>
    public static async Task<JsonElement?> NextOfKindOrNoneAsync(AgentClient socket, string kind, int seconds)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            var wait = (int)Math.Max(1, Math.Min(5000, (until - DateTime.UtcNow).TotalMilliseconds));
            if (await socket.RecvAndAckAsync(wait) is { } message && message.GetProperty("kind").GetString() == kind) return message;
        }
        return null;
    }

    /// <summary>The workflow <c>reviewed</c> on <paramref name="repository"/> (<see cref="TestWorkflows.Reviewed"/>).</summary>
    public static string ReviewedWorkflow(string repository) => TestWorkflows.Reviewed(repository);
}
