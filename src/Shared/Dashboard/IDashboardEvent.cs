using MediatR;

namespace Hive.Shared.Dashboard;

/// <summary>
/// A notification the dashboard shows. Every state change a feature makes is published as one of these after its
/// commit; <see cref="DashboardRelay{T}"/> numbers it and hands it to the SSE hub. No feature knows about SSE.
/// </summary>
public interface IDashboardEvent : INotification
{
    /// <summary>The SSE event type (DESIGN.md's snake_case list: <c>sent</c>, <c>delivered</c>, ...).</summary>
    string EventType { get; }

    /// <summary>What the event carries on the wire: ids plus display fields.</summary>
    object Payload { get; }

    /// <summary>
    /// Null for the main stream. An agent's name for an event only that agent's page wants (a live transcript entry): it
    /// goes only to streams opened with <c>?agent=</c> that name, never to the main stream. Named so that no event's own
    /// field can implement it by accident (a budget's <c>Scope</c> once did, and its events left the main stream).
    /// </summary>
    string? OnlyForAgent => null;
}

/// <summary>
/// A dashboard event with a named payload: a record of <c>Hive.Contracts</c> (the architecture test
/// <c>EventPayloadTests</c> holds every event to it), serialised with the wire's options.
/// </summary>
public interface IDashboardEvent<out TPayload> : IDashboardEvent where TPayload : notnull
{
    new TPayload Payload { get; }

    object IDashboardEvent.Payload => Payload;
}
