namespace Hive.Cli.Commands.Agent.Run.Pty;

/// <summary>
/// What a terminal program's turn tells of itself: nothing. No model, tokens, cost or tool calls reach the harness
/// through a screen, so its row has the timing and how it ended only.
/// </summary>
internal sealed class NoTurnStats : ITurnStats
{
    public static readonly NoTurnStats Instance = new();

    private NoTurnStats()
    {
    }

    public string? Model => null;
    public long? InputTokens => null;
    public long? OutputTokens => null;
    public long? CacheReadTokens => null;
    public long? CacheCreationTokens => null;
    public double? CostUsd => null;
    public bool IsError => false;
    public bool PromptTooLong => false;
    public string? SessionId => null;
    public long? ContextTokens => null;
    public string? ResultText => null;
    public IReadOnlyDictionary<string, long> Tools { get; } = new Dictionary<string, long>();
}
