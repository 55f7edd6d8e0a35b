namespace Hive.Tests.Features.Governance;

/// <summary>A halt and a quota circuit are durable: the host killed with SIGKILL comes back still halted, the circuit still open, and the turn it was running ended.</summary>
public sealed class GovernanceCrashTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "hive-gov-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_dataDir);

    [Fact]
    public async Task Halt_and_a_quota_circuit_hold_after_a_SIGKILL()
    {
        var until = DateTimeOffset.UtcNow.AddHours(3);
        long turnId;
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]))
        {
            await using var alice = await host.ConnectAsync("alice");
            await using var bob = await host.ConnectAsync("bob");
            turnId = await GovernanceHive.GrantedAsync(bob);
            // Two agents' reports open the provider's circuit (one agent's word holds only itself).
            AgentClient.Ok(await alice.CallAsync(new { op = "quota_hit", until = global::Hive.Contracts.Json.UtcTimestamp.Format(until) }));
            AgentClient.Ok(await bob.CallAsync(new { op = "quota_hit", until = global::Hive.Contracts.Json.UtcTimestamp.Format(until) }));
            using var http = host.CreateClient();
            using (var halt = await http.PostAsync("/api/governance/halt", null)) Assert.Equal(HttpStatusCode.OK, halt.StatusCode);
            await host.KillAsync();
        }

        await using var restarted = await HostProcess.StartAsync(_dataDir, ["alice", "bob"]);
        using var api = restarted.CreateClient();
        var view = await api.GetFromJsonAsync<JsonElement>("/api/governance");
        Assert.Equal("operator", view.GetProperty("halted").GetProperty("by").GetString());
        var circuit = Assert.Single(view.GetProperty("circuits").EnumerateArray());
        Assert.Equal(until.ToUnixTimeSeconds(), circuit.GetProperty("until").GetDateTimeOffset().ToUnixTimeSeconds());
        await using var carol = await restarted.ConnectAsync("alice");
        Assert.Equal("halted", (await GovernanceHive.BeginAsync(carol, 100)).GetProperty("held").GetProperty("reason").GetString());

        using (var resume = await api.PostAsync("/api/governance/resume", null)) Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        Assert.Equal("quota", (await GovernanceHive.BeginAsync(carol, 100)).GetProperty("held").GetProperty("reason").GetString());
        await HiveInstance.Until(() => HiveInstance.QueryDb<string?>(_dataDir, "SELECT end_reason FROM governed_turns WHERE id = @turnId", new { turnId }) == "host_restart",
            what: "the turn the killed host was running ended at the restart");
    }

    [Fact]
    public async Task A_budget_answer_committed_just_before_a_SIGKILL_is_applied_at_the_restart()
    {
        long question;
        await using (var host = await HostProcess.StartAsync(_dataDir, ["alice"]))
        {
            using var http = host.CreateClient();
            using (var set = await http.PutAsJsonAsync("/api/governance/budgets/alice", new { daily_tokens = 10 })) set.EnsureSuccessStatusCode();
            await using var alice = await host.ConnectAsync("alice");
            AgentClient.Ok(await alice.CallAsync(GovernanceHive.Record(await GovernanceHive.GrantedAsync(alice), input: 50)));
            Assert.Equal("budget", (await GovernanceHive.BeginAsync(alice, 100)).GetProperty("held").GetProperty("reason").GetString());
            question = HiveInstance.QueryDb<long>(_dataDir, "SELECT question_id FROM budget_questions WHERE state = 'open'");
            await host.KillAsync();
        }
        // The answer committed, the host gone before its handler ran: as if answered in the instant before the kill.
        HiveInstance.QueryDb<long>(_dataDir, """
            UPDATE questions SET answer = 'raise to 100 tokens for today', answerer = 'operator', answered_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
            WHERE id = @question RETURNING id
            """, new { question });

        await using var restarted = await HostProcess.StartAsync(_dataDir, ["alice"]);
        await HiveInstance.Until(() => HiveInstance.QueryDb<string>(_dataDir, "SELECT state FROM budget_questions WHERE question_id = @question", new { question }) == "applied",
            what: "the answer applied at the restart");
        await using var again = await restarted.ConnectAsync("alice");
        await GovernanceHive.GrantedAsync(again);
    }
}
