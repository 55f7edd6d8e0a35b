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
    /// goes only to streams opened with <c>?agent=</c> that name, never to the main stream.
    /// </summary>
    string? Scope => null;
}
