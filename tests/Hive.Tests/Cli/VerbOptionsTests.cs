using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;

namespace Hive.Tests.Cli;

/// <summary>
/// An agent command that maps onto one socket verb takes every argument field of the verb's record, also those it has
/// no option of its own for (VerbOptions): <c>request-spawn</c>'s network, egress and limits come from
/// <see cref="SpawnArgs"/>, through the built hivectl on the manager's socket of a real hive.
/// </summary>
public sealed class VerbOptionsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private Task<HivectlResult> ManagerAsync(params string[] args) => Hivectl.RunAsync(["--socket", _hive.SocketPath("manager"), .. args]);

    [Fact]
    public async Task Request_spawn_takes_the_verbs_fields_it_has_no_option_of_its_own_for()
    {
        var help = (await ManagerAsync("request-spawn", "--help")).Ok().Stdout;
        Assert.Contains("--network", help);
        Assert.Contains("--egress-ask", help);

        var name = "wish-" + Guid.NewGuid().ToString("N")[..6];
        var reply = (await ManagerAsync("--json", "request-spawn", name, "--purpose", "installs packages", "--driver", "process",
            "--network", "sealed", "--egress", "registry.npmjs.org:443", "--egress", "github.com:443", "--egress-ask",
            "--limits", """{"memory_mib": 256}""", "--", "/bin/sh", "-c", "exec sleep 600")).Ok().Json;

        var id = reply.Deserialize<ApprovalReply>(HiveJson.Options)!.ApprovalId;
        var approval = (await _hive.GetAsync<ApprovalView[]>("/api/approvals")).Single(a => a.Id == id);
        var asked = approval.Payload.Deserialize<SpawnArgs>(HiveJson.Options)!;
        Assert.Equal("sealed", asked.Network);
        Assert.Equal(["registry.npmjs.org:443", "github.com:443"], asked.Egress);
        Assert.True(asked.EgressAsk);
        Assert.Equal(256, asked.Limits!.MemoryMib);
    }

    [Fact]
    public async Task A_field_taking_json_refuses_text_that_is_not_json_before_anything_is_asked()
    {
        var name = "wish-" + Guid.NewGuid().ToString("N")[..6];
        var run = (await ManagerAsync("request-spawn", name, "--purpose", "x", "--limits", "{memory", "--", "/bin/true")).Usage();

        Assert.Contains("--limits takes JSON", run.Stderr);
        Assert.DoesNotContain((await _hive.GetAsync<ApprovalView[]>("/api/approvals?status=all")), a => a.Agent == name);
    }
}
