using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Hive.Contracts.Agents;

namespace Hive.Contracts.Gateway;

public sealed record CallsArgs(
    [property: Description("only this turn's calls")] long? Turn,
    [property: Description("only calls with a smaller id (the next page)")] long? Before,
    [property: Range(1, 500), Description("at most this many (default 50)")] int? Limit);

public sealed record CallArgs([property: Required, Description("a model call's id")] long? Id);

public sealed record CallsReply(IReadOnlyList<CallView> Calls);

public sealed record RequestForkArgs(
    [property: Required, Description("the agent whose conversation is forked")] string? Agent,
    [property: Required, Description("the turn (its id) whose end the fork starts from")] long? AtTurn,
    [property: Description("the model the fork's turns use (default: the original's)")] string? Model,
    [property: Description("the fork's name (default AGENT-fork-TURN)")] string? Name,
    [property: Description("its next message, from you (default: the messages that woke the original's next turn)")] string? Message);

/// <summary>An agent's own model calls, as the hive's gateway metered them; the manager's request for a fork.</summary>
public static class GatewayVerbs
{
    public static readonly SocketVerb<CallsArgs, CallsReply> Calls = new("calls", "Your model calls, newest first. Returns {calls: [...]}.", Reach: VerbReach.Own);

    public static readonly SocketVerb<CallArgs, CallDetail> Call = new("call", "One of your model calls with what the gateway recorded of it.", Reach: VerbReach.Own);

    public static readonly SocketVerb<RequestForkArgs, ApprovalReply> RequestFork = new("request_fork",
        "Ask the operator to fork an agent's conversation at the end of one of its turns: a new agent with its configuration, " +
        "its state and conversation as they were then, whose next turn runs live (on another model, or with your message). " +
        "The original is untouched. Nothing happens until the operator approves. Returns {approval_id}; you get a message from " +
        "hive of kind approval_resolved when the operator decides, and one of kind fork_failed if the fork could not be made.",
        VerbCaller.Manager, McpTool: true);
}
