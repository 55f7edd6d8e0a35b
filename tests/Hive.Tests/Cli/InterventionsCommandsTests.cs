using Hive.Contracts.Agents;
using Hive.Contracts.Governance;
using Hive.Features.Governance;

namespace Hive.Tests.Cli;

/// <summary>
/// The hivectl half: <c>interventions</c> (a table newest first, <c>--json</c> the array, filtered by agent,
/// actor, time and count) and <c>interventions revert ID</c> (operator, HTTP) through the built hivectl against a real
/// hive. The tests of this class share a hive and run one after another; each leaves its agent unpaused.
/// </summary>
public sealed class InterventionsCommandsTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private async Task<bool> PausedAsync(string agent) =>
        (await _hive.GetAsync<GovernanceView>("/api/governance")).Paused.Any(p => p.Agent == agent);

    [Fact]
    public async Task Interventions_lists_newest_first_as_a_table_or_json_and_filters()
    {
        (await fixture.OperatorAsync("pause", "alice")).Ok();
        (await fixture.OperatorAsync("resume", "alice")).Ok();
        var operatorsDone = DateTimeOffset.UtcNow;
        // The manager pauses and resumes on its socket, at its own authority.
        await using (var manager = await _hive.ConnectAsync("manager"))
        {
            // Each throws unless the reply is ok.
            await manager.CallAsync(ManagerVerbs.Pause, new TargetAndReasonArgs("alice", "looping on the same file"));
            await manager.CallAsync(ManagerVerbs.Resume, new TargetAndReasonArgs("alice", null));
        }

        var allRun = (await fixture.OperatorAsync("interventions", "--agent", "alice", "--json")).Ok();
        Assert.Equal(JsonValueKind.Array, allRun.Json.ValueKind);
        var all = allRun.JsonAs<InterventionView[]>();
        var actions = all.Select(i => (i.Actor, i.Action)).ToList();
        Assert.Equal([("manager", "resume"), ("manager", "pause"), ("operator", "resume"), ("operator", "pause")], actions);
        var ids = all.Select(i => i.Id).ToList();
        Assert.Equal(ids.OrderDescending(), ids);

        var table = (await fixture.OperatorAsync("interventions", "--agent", "alice")).Ok().Stdout.Split('\n');
        Assert.Matches(@"^ID\s+AT\s+ACTOR\s+AUTHORITY\s+ACTION\s+TARGET\s+CHANGE\s+REVERTED BY\s+REASON$", table[0].TrimEnd());
        Assert.Matches($@"^{ids[1]}\s+\S+\s+manager\s+monitor\s+pause\s+alice\s+paused: no → yes\s+-\s+looping on the same file$", table[2].TrimEnd());
        Assert.Matches($@"^{ids[3]}\s+\S+\s+operator\s+guardian\s+pause\s+alice\s+paused: no → yes\s+-\s+-$", table[4].TrimEnd());

        // By actor, by time, by count, and the next page.
        var managers = (await fixture.OperatorAsync("interventions", "--agent", "alice", "--actor", "manager", "--json")).Ok().JsonAs<InterventionView[]>();
        Assert.Equal([ids[0], ids[1]], managers.Select(i => i.Id));
        Assert.Single((await fixture.OperatorAsync("interventions", "--agent", "alice", "--limit", "1", "--json")).Ok().Json.EnumerateArray());
        var page = (await fixture.OperatorAsync("interventions", "--agent", "alice", "--before", ids[1].ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).Ok()
            .JsonAs<InterventionView[]>();
        Assert.Equal([ids[2], ids[3]], page.Select(i => i.Id));
        var since = operatorsDone.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var recent = (await fixture.OperatorAsync("interventions", "--agent", "alice", "--since", since, "--json")).Ok().JsonAs<InterventionView[]>();
        Assert.Equal([ids[0], ids[1]], recent.Select(i => i.Id));
        Assert.Equal("(none)", (await fixture.OperatorAsync("interventions", "--agent", "alice", "--since", "2999-01-01T00:00:00Z")).Ok().Stdout.Trim());

        (await fixture.OperatorAsync("interventions", "--since", "yesterday")).Usage();
        (await fixture.OperatorAsync("interventions", "--limit", "lots")).Usage();
        (await fixture.OperatorAsync("interventions", "--limit", "0", "--json")).Refused("validation");
        Assert.False(await PausedAsync("alice"));
    }

    [Fact]
    public async Task Revert_undoes_a_pause_and_a_second_revert_or_an_unknown_id_is_refused()
    {
        (await fixture.OperatorAsync("pause", "bob")).Ok();
        var pause = (await fixture.OperatorAsync("interventions", "--agent", "bob", "--limit", "1", "--json")).Ok().JsonAs<InterventionView[]>()[0];
        Assert.Equal("pause", pause.Action);
        var id = pause.Id;
        Assert.True(await PausedAsync("bob"));

        var text = (await fixture.OperatorAsync("interventions", "revert", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Ok().Stdout.Trim();
        Assert.False(await PausedAsync("bob"));
        var listed = (await fixture.OperatorAsync("interventions", "--agent", "bob", "--json")).Ok().JsonAs<InterventionView[]>();
        var resume = listed[0];
        Assert.Equal("resume", resume.Action);
        Assert.Equal($"revert of intervention {id}", resume.Reason);
        var resumeId = resume.Id;
        Assert.Equal($"intervention #{id} (pause bob) reverted by #{resumeId}", text);
        Assert.Equal(resumeId, listed.Single(i => i.Id == id).RevertedBy);
        Assert.Matches($@"(?m)^{id}\s.*\spause\s+bob\s+paused: no → yes\s+#{resumeId}\s", (await fixture.OperatorAsync("interventions", "--agent", "bob")).Ok().Stdout);

        var again = (await fixture.OperatorAsync("interventions", "revert", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).Refused("conflict");
        Assert.Contains("reverted already", again.JsonAs<Refusal>().Error);
        (await fixture.OperatorAsync("interventions", "revert", "987654")).Refused("not_found");
        (await fixture.OperatorAsync("interventions", "revert", "last")).Usage();
        Assert.False(await PausedAsync("bob"));
    }
}
