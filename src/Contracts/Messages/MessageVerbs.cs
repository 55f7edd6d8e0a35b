using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Hive.Contracts.Messages;

public sealed record WhoamiReply(string Name);

public sealed record SendArgs(
    [property: Required, Description("an agent's name, operator, manager, or * for a broadcast")] string? To,
    [property: Required, Description("the message, at most 1024 UTF-8 bytes")] string? Body,
    [property: Description("an idempotency key: a resend with it returns the first id")] string? ClientId,
    [property: Description("the id of a message you sent or received that this one answers")] long? InReplyTo);

public sealed record RecvArgs(
    [property: Range(0, 30000), Description("how long to wait for one, 0 to 30000 ms")] int? WaitMs,
    [property: Description("acknowledge this message id first")] long? Ack,
    [property: Range(1, 32), Description("up to this many at once (messages array when above 1)")] int? Max);

public sealed record AckArgs([property: Required] long? Id);

public sealed record IdReply(long Id);

public sealed record NextTurnReply(long Id, bool Queued);

/// <summary>
/// <c>send</c>'s reply: the message's id; a broadcast also gives its <c>broadcast_id</c> (the same as <c>id</c>: the first
/// row's) and <c>ids</c>, one per recipient. A send to one agent leaves those two out.
/// </summary>
public sealed record SendReply(
    long Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BroadcastId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<long>? Ids);

/// <summary>
/// <c>recv</c>'s reply, one of two shapes by <c>max</c>: <see cref="RecvOneReply"/> (<c>{message}</c>, null when none came)
/// when it is 1, <see cref="RecvManyReply"/> (<c>{messages}</c>) when it is above. Written as the shape it is: neither
/// carries the other's field.
/// </summary>
[JsonDerivedType(typeof(RecvOneReply))]
[JsonDerivedType(typeof(RecvManyReply))]
public abstract record RecvReply;

/// <summary><c>recv</c> with <c>max</c> 1: the message, or null when none came in <c>wait_ms</c>.</summary>
public sealed record RecvOneReply(MessageView? Message) : RecvReply;

/// <summary><c>recv</c> with <c>max</c> above 1: the messages taken (none when none came in <c>wait_ms</c>).</summary>
public sealed record RecvManyReply(IReadOnlyList<MessageView> Messages) : RecvReply;

/// <summary>The message broker's verbs.</summary>
public static class MessageVerbs
{
    public static readonly SocketVerb<NoArgs, WhoamiReply> Whoami =
        new("whoami", "The name of the agent whose socket this is.", McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<SendArgs, SendReply> Send = new("send",
        "Send a message to an agent, the operator, the manager, or * (every other live agent). Returns {id}; a broadcast also " +
        "returns broadcast_id and ids (one per recipient).", McpTool: true);

    public static readonly SocketVerb<RecvArgs, RecvReply> Recv = new("recv",
        "Take the next waiting message(s); each stays in flight until acknowledged (ack). Returns {message} (null when none " +
        "came in wait_ms), or {messages} when max is above 1.", McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<AckArgs, NoReply> Ack =
        new("ack", "Acknowledge a message you received (unacknowledged, it is handed out again).", McpTool: true, Reach: VerbReach.Own);

    public static readonly SocketVerb<NoArgs, NextTurnReply> RequestNextTurn = new("request_next_turn",
        "Ask to be woken for another turn without waiting for anyone else: the hive queues a message of kind next_turn from you " +
        "to yourself, which your next recv hands out (acknowledge it like any other). At most one waits at a time: asking again " +
        "while one is waiting returns that one. Returns {id, queued}; queued is false when an earlier request was still waiting.",
        McpTool: true);
}
