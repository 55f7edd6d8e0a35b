using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Microsoft.AspNetCore.Http;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// A hive whose restart policy is quick (50 ms backoff) so crash tests take no longer than they must, and whose reminder
/// tick is short. Its agents are real processes: every test destroys or stops what it made, and the host stops the rest
/// when the fixture ends.
/// </summary>
public sealed class ContainersFixture : HiveFixture
{
    protected override string[] Args =>
    [
        "--Hive:Containers:RestartBackoffSeconds", "0.05", "--Hive:Containers:StopGraceSeconds", "2",
        "--Hive:Reminders:TickSeconds", "0.2",
    ];
}

/// <summary>How the container tests talk to a hive: as the operator (HTTP, SSE) and as agents (their sockets).</summary>
internal static class ContainersKit
{
    public static readonly string[] Drivers = ["process", "bubblewrap"];

    public static async Task<JsonElement> CreateAsync(HttpClient http, object body)
    {
        using var response = await http.PostAsJsonAsync("/api/agents", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>A managed agent that runs a shell script (cwd: its state dir) and then sleeps, so it stays up.</summary>
    public static object Shell(string name, string driver, string script, string? restart = null) =>
        new { name, command = new[] { "/bin/sh", "-c", script + "\nexec sleep 1000" }, driver, restart = restart ?? "on-failure" };

    public static async Task<(HttpStatusCode Status, JsonElement Problem)> PostAsync(HttpClient http, string path, object? body = null)
    {
        using var response = body is null ? await http.PostAsync(path, null) : await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    public static async Task<JsonElement?> RowAsync(HiveInstance hive, string name) =>
        (await hive.GetJsonAsync("/api/agents")).EnumerateArray().Where(a => a.GetProperty("name").GetString() == name)
            .Select(a => (JsonElement?)a.Clone()).FirstOrDefault();

    /// <summary>The next <c>container_state_changed</c> row of <paramref name="name"/> that satisfies <paramref name="match"/>.</summary>
    public static async Task<JsonElement> NextRowAsync(SseStream events, string name, Func<JsonElement, bool> match, TimeSpan? timeout = null) =>
        (await NextEventAsync(events, "container_state_changed",
            e => e.GetProperty("agent") is var row && row.GetProperty("name").GetString() == name && match(row), timeout)).GetProperty("agent");

    /// <summary>The next event of <paramref name="type"/> that satisfies <paramref name="match"/>.</summary>
    public static async Task<JsonElement> NextEventAsync(SseStream events, string type, Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no matching {type} event");
            var e = await events.NextAsync(left) ?? throw new InvalidOperationException("the event stream ended");
            if (e.Type == type && match(e.Json)) return e.Json.Clone();
        }
    }

    public static string State(this JsonElement row) => row.GetProperty("state").GetString()!;
    public static string? Transient(this JsonElement row) => row.GetProperty("transient").GetString();
    public static int? Pid(this JsonElement row) => row.GetProperty("pid").ValueKind == JsonValueKind.Number ? row.GetProperty("pid").GetInt32() : null;

    /// <summary>The agent's own processes (its group but the driver's supervisor, which leads it).</summary>
    public static IReadOnlyList<int> AgentProcesses(int pgid) => ProcessTable.Family(pgid).Where(p => p != pgid).ToList();

    /// <summary>Destroys the agent if it is there and waits for its processes to be gone.</summary>
    public static async Task DestroyAsync(HiveInstance hive, string name)
    {
        var row = await RowAsync(hive, name);
        var members = row?.Pid() is { } pid ? ProcessTable.Family(pid) : [];
        // A restart by policy may hold the agent's turn for a moment (409): the destroy waits for it.
        var status = HttpStatusCode.Conflict;
        for (var deadline = DateTime.UtcNow.AddSeconds(20); status == HttpStatusCode.Conflict && DateTime.UtcNow < deadline;)
        {
            using var response = await hive.Http.DeleteAsync($"/api/agents/{name}");
            status = response.StatusCode;
            if (status == HttpStatusCode.Conflict) await Task.Delay(20);
        }
        Assert.True(status is HttpStatusCode.NoContent or HttpStatusCode.NotFound, $"destroy {name}: {(int)status}");
        await ProcessTable.UntilGoneAsync(members);
    }

    public static async Task<JsonElement> RecvFromHiveAsync(AgentClient manager, string kind, string about, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var message = await manager.RecvAndAckAsync(1_000);
            if (message is { } m && m.GetProperty("from").GetString() == "hive" && m.GetProperty("kind").GetString() == kind
                && m.GetProperty("body").GetString()!.Contains(about, StringComparison.Ordinal))
                return m;
        }
        throw new TimeoutException($"no {kind} message about {about} reached the manager");
    }

    /// <summary><see cref="RecvFromHiveAsync"/> reading the message's record (the feature's own fields are in its <c>Extra</c>).</summary>
    public static async Task<MessageView> MessageFromHiveAsync(AgentClient manager, string kind, string about, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            var message = await manager.RecvMessageAsync(1_000);
            if (message is null) continue;
            await manager.AckAsync(message.Id);
            if (message.From == "hive" && message.Kind == kind && message.Body.Contains(about, StringComparison.Ordinal)) return message;
        }
        throw new TimeoutException($"no {kind} message about {about} reached the manager");
    }

    /// <summary>A system message's extra field as a string (<c>status</c>, <c>reason</c>, ...).</summary>
    public static string? ExtraString(this MessageView message, string field) => message.Extra![field].GetString();

    /// <summary>A system message's extra field as a number (<c>approval_id</c>, ...).</summary>
    public static long ExtraLong(this MessageView message, string field) => message.Extra![field].GetInt64();

    /// <summary>The approvals <c>/api/approvals</c> lists: the pending ones, or all.</summary>
    public static async Task<IReadOnlyList<ApprovalView>> ApprovalsAsync(HiveInstance hive, bool all = false) =>
        await hive.GetAsync<List<ApprovalView>>(all ? "/api/approvals?status=all" : "/api/approvals");

    /// <summary>The first of a validation problem's reasons for <paramref name="field"/> (the host writes ASP.NET Core's validation problem).</summary>
    public static string FieldError(JsonElement problem, string field) =>
        problem.Deserialize<HttpValidationProblemDetails>(HiveJson.Options)!.Errors[field][0];

    /// <summary>An agent's file in the meta repo as committed on <c>main</c>.</summary>
    public static AgentConfig MetaConfig(HiveInstance hive, string name) =>
        JsonSerializer.Deserialize<AgentConfig>(MetaGit.In(hive.DataDir, "show", $"main:agents/{name}.json"), HiveJson.Options)!;

    /// <summary>Every process of <paramref name="agent"/> (by its environment's <c>HIVE_AGENT</c>), with its command line.</summary>
    public static List<(int Pid, string Command)> AgentProcesses(string agent)
    {
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Replace('\0', '\n');
                if (environ.Contains($"HIVE_AGENT={agent}\n", StringComparison.Ordinal))
                    found.Add((int.Parse(Path.GetFileName(dir)), File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim()));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile
            }
        }
        return found;
    }
}
