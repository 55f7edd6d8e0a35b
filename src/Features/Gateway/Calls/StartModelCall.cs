using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// A call let through to its provider whose answer is still streaming a moment after its first bytes: its row is written
/// <c>open</c>, so a host that dies under a stream leaves a trace (marked <c>interrupted</c> at the next start) and never a
/// call counted as complete.
/// </summary>
internal static class StartModelCall
{
    public sealed record Command(string Agent, long? TurnId, string Provider, string? Model, string Path, bool Streamed, long BytesUp,
        string? RequestBody, DateTimeOffset StartedAt) : IRequest<long>, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Command, long>
    {
        public Task<long> Handle(Command command, CancellationToken cancellationToken) =>
            Task.FromResult(changes.Current.QuerySingle<long>("""
                INSERT INTO model_calls (agent, turn_id, provider, model, path, streamed, state, bytes_up, request_body, started_at)
                VALUES (@Agent, @TurnId, @Provider, @Model, @Path, @Streamed, 'open', @BytesUp, @RequestBody, @StartedAt)
                RETURNING id
                """, command));
    }
}
