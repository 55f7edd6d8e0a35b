namespace Hive.Contracts.Gateway;

/// <summary>The last call of a summary window.</summary>
public sealed record LastModelCall(long Id, long? TurnId, string Provider, string? Model, string State, int? Status);

/// <summary>An agent's failing streak on the wire (its row's <c>model_calls_failing</c>).</summary>
public sealed record FailingStreakView(int Count, string Provider, string LastError, DateTimeOffset Since);

/// <summary>One provider on the wire: never its key, nor the secret's value (only the secret's name says whether one is set).</summary>
public sealed record ProviderView(
    string Name, string Protocol, string UpstreamHost, int InFlight, int? Slots, int Waiting, ProviderLimitsView? Limits);

/// <summary>What the provider last said of its limits on a successful call.</summary>
public sealed record ProviderLimitsView(long? RequestsRemaining, long? TokensRemaining, DateTimeOffset? RequestsReset, DateTimeOffset? TokensReset,
    DateTimeOffset SeenAt);
