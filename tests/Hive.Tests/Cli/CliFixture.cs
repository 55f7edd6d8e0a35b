using System.Globalization;
using Hive.Contracts.Json;

namespace Hive.Tests.Cli;

/// <summary>
/// One real hive for the CLI tests of a class (alice and bob configured, a 1 s ack timeout so that a message left
/// unacknowledged comes back within a test; a 0.2 s reminder tick, so a due reminder fires within one), and the two ways hivectl reaches it: as an agent on its socket, as the
/// operator over HTTP with the token.
/// </summary>
public sealed class CliFixture : HiveFixture
{
    public const double AckTimeoutSeconds = 1;

    protected override string[] Agents => ["alice", "bob"];

    protected override string[] Args =>
        ["--Hive:Messages:AckTimeoutSeconds", AckTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "--Hive:Reminders:TickSeconds", "0.2"];

    /// <summary>hivectl as <paramref name="agent"/> (its socket).</summary>
    public Task<HivectlResult> AgentAsync(string agent, params string[] args) =>
        Hivectl.RunAsync([.. args, "--socket", Hive.SocketPath(agent)]);

    /// <summary>hivectl as the operator (the hive's URL and token).</summary>
    public Task<HivectlResult> OperatorAsync(params string[] args) => Hivectl.RunAsync([.. OperatorArgs, .. args]);

    public string[] OperatorArgs => ["--url", Hive.BaseAddress.ToString(), "--token", Hive.Token!];
}

/// <summary>Assertions on a finished run.</summary>
internal static class HivectlAssert
{
    public static HivectlResult Ok(this HivectlResult run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return run;
    }

    /// <summary>Exit 1 with <paramref name="code"/> in the JSON error document and on stderr.</summary>
    public static HivectlResult Refused(this HivectlResult run, string code)
    {
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(code, run.Stderr);
        if (run.Stdout.Trim().Length > 0)
        {
            Assert.False(run.Json.GetProperty("ok").GetBoolean()); // raw: the refusal's record has no ok, and a missing one would read as false
            var refusal = run.JsonAs<Refusal>();
            Assert.Equal(code, refusal.Code);
            Assert.False(string.IsNullOrWhiteSpace(refusal.Error));
        }
        return run;
    }

    /// <summary>
    /// The <c>--json</c> document read as the record the command prints (the reply or body it passes on), with the wire's
    /// options: a field that is missing reads as its default, so a check of absence stays on <see cref="HivectlResult.Json"/>.
    /// </summary>
    public static T JsonAs<T>(this HivectlResult run) => run.Json.Deserialize<T>(HiveJson.Options)!;

    public static HivectlResult Usage(this HivectlResult run)
    {
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("usage", run.Stderr);
        return run;
    }
}
