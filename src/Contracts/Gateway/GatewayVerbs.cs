using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Hive.Contracts.Gateway;

public sealed record CallsArgs(
    [property: Description("only this turn's calls")] long? Turn,
    [property: Description("only calls with a smaller id (the next page)")] long? Before,
    [property: Range(1, 500), Description("at most this many (default 50)")] int? Limit);

public sealed record CallArgs([property: Required, Description("a model call's id")] long? Id);

public sealed record CallsReply(IReadOnlyList<CallView> Calls);

/// <summary>An agent's own model calls, as the hive's gateway metered them.</summary>
public static class GatewayVerbs
{
    public static readonly SocketVerb<CallsArgs, CallsReply> Calls = new("calls", "Your model calls, newest first. Returns {calls: [...]}.", Reach: VerbReach.Own);

    public static readonly SocketVerb<CallArgs, CallDetail> Call = new("call", "One of your model calls with what the gateway recorded of it.", Reach: VerbReach.Own);
}
