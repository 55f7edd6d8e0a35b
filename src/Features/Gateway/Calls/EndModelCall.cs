using Hive.Features.Governance.Spend;
using Hive.Shared.Changes;
using MediatR;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// A call ended: its row completed with what the provider said it used, and, for a call that reached the provider, that
/// usage spent by the agent (Governance's <see cref="ChargeModelCall"/>, in this same change: the call is counted once, with
/// its row, or not at all). A call without an open row (<paramref name="Id"/> null: refused, or ended before a byte of its
/// answer passed) is written whole.
/// </summary>
internal static class EndModelCall
{
    public sealed record Command(
        long? Id, string Agent, long? TurnId, string Provider, string? Model, string Path, bool Streamed, string State, int? Status,
        Usage Usage, double? CostUsd, double? FirstByteMs, double DurationMs, long BytesUp, long BytesDown, string? Error,
        string? RequestBody, string? ResponseBody, DateTimeOffset StartedAt, DateTimeOffset EndedAt) : IRequest<long>, IChangesState;

    internal sealed class Handler(StateChanges changes, IMediator mediator) : IRequestHandler<Command, long>
    {
        public async Task<long> Handle(Command c, CancellationToken cancellationToken)
        {
            var change = changes.Current;
            var row = new
            {
                c.Id, c.Agent, c.TurnId, c.Provider, c.Model, c.Path, c.Streamed, c.State, c.Status,
                Input = c.Usage.Input, Output = c.Usage.Output, CacheRead = c.Usage.CacheRead, CacheWrite = c.Usage.CacheWrite,
                c.CostUsd, c.FirstByteMs, c.DurationMs, c.BytesUp, c.BytesDown, c.Error, c.RequestBody, c.ResponseBody, c.StartedAt, c.EndedAt,
            };
            long id;
            if (c.Id is null)
            {
                id = change.QuerySingle<long>("""
                    INSERT INTO model_calls (agent, turn_id, provider, model, path, streamed, state, status, input_tokens, output_tokens,
                        cache_read_tokens, cache_write_tokens, cost_usd, first_byte_ms, duration_ms, bytes_up, bytes_down, error,
                        request_body, response_body, started_at, ended_at)
                    VALUES (@Agent, @TurnId, @Provider, @Model, @Path, @Streamed, @State, @Status, @Input, @Output,
                        @CacheRead, @CacheWrite, @CostUsd, @FirstByteMs, @DurationMs, @BytesUp, @BytesDown, @Error,
                        @RequestBody, @ResponseBody, @StartedAt, @EndedAt)
                    RETURNING id
                    """, row);
            }
            else
            {
                // Only an open row ends: a call the start-up sweep already marked interrupted is not counted now.
                var ended = change.Execute("""
                    UPDATE model_calls SET state = @State, status = @Status, model = COALESCE(@Model, model),
                        input_tokens = @Input, output_tokens = @Output, cache_read_tokens = @CacheRead, cache_write_tokens = @CacheWrite,
                        cost_usd = @CostUsd, first_byte_ms = @FirstByteMs, duration_ms = @DurationMs, bytes_down = @BytesDown,
                        error = @Error, request_body = @RequestBody, response_body = @ResponseBody, ended_at = @EndedAt
                    WHERE id = @Id AND state = 'open'
                    """, row);
                if (ended == 0) return c.Id.Value;
                id = c.Id.Value;
            }
            if (c.Usage.Total > 0 || c.CostUsd is > 0)
                await mediator.Send(new ChargeModelCall.Command(c.Agent, c.Provider, c.TurnId, c.Model,
                    c.Usage.Input, c.Usage.Output, c.Usage.CacheRead, c.Usage.CacheWrite, c.CostUsd ?? 0), cancellationToken);
            change.Raise(new ModelCallEnded(id, c.Agent, c.TurnId, c.Provider, c.Model, c.State, c.Status,
                c.Usage.Input, c.Usage.Output, c.Usage.CacheRead, c.Usage.CacheWrite, c.CostUsd, c.FirstByteMs, c.DurationMs, c.Error));
            return id;
        }
    }
}

/// <summary>At start-up: calls a previous host died under are <c>interrupted</c>, never complete, never spent.</summary>
internal static class MarkInterruptedCalls
{
    public sealed record Command(DateTimeOffset At) : IRequest<int>, IChangesState;

    internal sealed class Handler(StateChanges changes) : IRequestHandler<Command, int>
    {
        public Task<int> Handle(Command command, CancellationToken cancellationToken) =>
            Task.FromResult(changes.Current.Execute("""
                UPDATE model_calls SET state = 'interrupted', error = 'the host stopped while the call ran', ended_at = @At
                WHERE state = 'open'
                """, command));
    }
}
