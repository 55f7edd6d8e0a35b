namespace Hive.Tests.Features.Governance;

/// <summary>The audit log: every signed-in API mutation and every manager verb, with the route or verb, target and result; never a body.</summary>
public sealed class AuditLogTests(GovernanceHive fixture) : SharedHiveTests(fixture), IClassFixture<GovernanceHive>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Operator_mutations_and_manager_verbs_are_logged_with_their_results_and_no_bodies()
    {
        var name = await _hive.NewAgentAsync("audited");
        const string secret = "s3cr3t-value-that-must-never-be-logged";
        using (var put = await _hive.Http.PutAsJsonAsync("/api/secrets/audit-canary", new { value = secret })) Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using (var pause = await _hive.Http.PostAsync($"/api/governance/agents/{name}/pause", null)) pause.EnsureSuccessStatusCode();
        using (var missing = await _hive.Http.PostAsync("/api/governance/agents/nobody-here/pause", null)) Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await _hive.Http.GetStringAsync("/api/governance"); // a read: not logged
        await using (var manager = await _hive.ConnectAsync("manager"))
        {
            Assert.Equal("forbidden", (await manager.CallAsync(new { op = "resume", name })).GetProperty("code").GetString());
            AgentClient.Ok(await manager.CallAsync(new { op = "whoami" })); // a read: not logged
        }

        var log = (await _hive.GetJsonAsync("/api/audit?limit=10")).EnumerateArray().ToList();
        var entries = log.Select(e => (e.GetProperty("actor").GetString(), e.GetProperty("action").GetString(), e.GetProperty("target").GetString(),
            e.GetProperty("result").GetString())).ToList();
        Assert.Equal(
        [
            ("manager", "resume", name, "forbidden"),
            ("operator", "POST /api/governance/agents/{name}/pause", "nobody-here", "404"),
            ("operator", "POST /api/governance/agents/{name}/pause", name, "200"),
            ("operator", "PUT /api/secrets/{name}", "audit-canary", "201"),
        ], entries.Take(4).Select(e => (e.Item1, e.Item2, e.Item3, e.Item4)).ToList()!);
        Assert.DoesNotContain(secret, await _hive.Http.GetStringAsync("/api/audit?limit=1000"));
        Assert.Equal(["manager"], (await _hive.GetJsonAsync("/api/audit?actor=manager")).EnumerateArray().Select(e => e.GetProperty("actor").GetString()).Distinct());
    }
}
