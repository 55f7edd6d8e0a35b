namespace Hive.Contracts.Protocol;

/// <summary>Who may call a socket verb: any agent on its own socket, or only the manager on its socket.</summary>
public enum VerbCaller
{
    Agent,
    Manager,
}

/// <summary>
/// How far a verb reaches: <see cref="Own"/> reads, or changes only the caller's own turn and conversation (a replay of a
/// turn runs it); <see cref="Hive"/> changes what others see or do (a message, a question, a reminder, a ticket, an agent),
/// so a replay captures it instead of carrying it out.
/// </summary>
public enum VerbReach
{
    Hive,
    Own,
}

/// <summary>
/// One verb of the agent socket protocol, declared once: its name (the request's <c>op</c>), the record its arguments
/// bind to, what it answers, who may call it, and whether hivectl's MCP server offers it as a tool. The socket's binding,
/// the MCP tools and their schemas and docs/agents/protocol.md all come from these declarations.
/// </summary>
public abstract record SocketVerb(string Name, string Description, VerbCaller Caller, bool McpTool, VerbReach Reach)
{
    /// <summary>The record the request's fields bind to (snake_case on the wire); <see cref="NoArgs"/> when it takes none.</summary>
    public abstract Type Args { get; }

    /// <summary>What a successful reply carries besides <c>"ok": true</c>: <see cref="NoReply"/> when nothing.</summary>
    public abstract Type Reply { get; }
}

/// <summary>A verb whose arguments are <typeparamref name="TArgs"/> and whose reply is <typeparamref name="TReply"/>.</summary>
public sealed record SocketVerb<TArgs, TReply>(
    string Name, string Description, VerbCaller Caller = VerbCaller.Agent, bool McpTool = false, VerbReach Reach = VerbReach.Hive)
    : SocketVerb(Name, Description, Caller, McpTool, Reach)
{
    public override Type Args => typeof(TArgs);
    public override Type Reply => typeof(TReply);
}

/// <summary>The arguments of a verb that takes none.</summary>
public sealed record NoArgs;

/// <summary>The reply of a verb that answers only <c>{"ok": true}</c>.</summary>
public sealed record NoReply;
