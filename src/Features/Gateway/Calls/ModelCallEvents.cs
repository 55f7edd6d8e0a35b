using MediatR;

namespace Hive.Features.Gateway.Calls;

/// <summary>A model call ended (complete, failed, refused, interrupted). Raised in the change that recorded it.</summary>
public sealed record ModelCallEnded(
    long Id, string Agent, long? TurnId, string Provider, string? Model, string State, int? Status,
    long InputTokens, long OutputTokens, long CacheReadTokens, long CacheWriteTokens, double? CostUsd,
    double? FirstByteMs, double? DurationMs, string? Error) : INotification;
