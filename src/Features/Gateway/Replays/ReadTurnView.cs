using System.Text.Json;
using Dapper;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Governance;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// One turn as the gateway saw it (<c>GET /api/turns/{id}</c>): what woke it, its model calls read as a person reads them,
/// the tool calls they made paired with the results the next call carried back, its cost and time, and its replays.
/// </summary>
public static class ReadTurnView
{
    public sealed record Query(long TurnId) : IRequest<TurnView>;

    internal sealed class Handler(IMediator mediator, IDb db, CallBodies bodies, ActiveReplays replays, ForkedAgents forks) : IRequestHandler<Query, TurnView>
    {
        public async Task<TurnView> Handle(Query query, CancellationToken cancellationToken)
        {
            var turn = await mediator.Send(new ReadGrantedTurn.Query(query.TurnId), cancellationToken) ?? throw new NotFoundException($"no turn {query.TurnId}");
            using var connection = db.Open();
            var checkpoint = connection.QuerySingleOrDefault<string>("SELECT messages FROM turn_checkpoints WHERE turn_id = @Id", turn);
            var wake = checkpoint is null ? null
                : (JsonSerializer.Deserialize<List<WakeMessage>>(checkpoint, HiveJson.Options) ?? []).Select(m => new TurnWakeView(m.From, m.Kind, m.Body)).ToList();
            // In the order they were made: a call is booked (its id given) when it ends, and a client's next call can end
            // first on a loaded machine.
            var rows = connection.Query<CallRow>($"SELECT {CallRow.Columns} FROM model_calls WHERE turn_id = @Id AND agent = @Agent ORDER BY started_at, id", turn).ToList();
            var calls = new List<TurnCallView>();
            var tools = new List<TurnToolCallView>();
            foreach (var row in rows)
            {
                var request = row.RequestBody is { } r ? bodies.Read(r) : null;
                var response = row.ResponseBody is { } s ? bodies.Read(s) : null;
                var reading = request is null && response is null ? null
                    : CallReading.Of(row.Protocol, request, response);
                // This call's request carries back the results of the tool calls still waiting for one, in order.
                var results = new Queue<string>(reading?.LastMessages.LastOrDefault()?.Parts.Where(p => p.Kind == "tool_result").Select(p => p.Text) ?? []);
                for (var i = 0; i < tools.Count && results.Count > 0; i++)
                    if (tools[i].Result is null) tools[i] = tools[i] with { Result = results.Dequeue() };
                calls.Add(new TurnCallView(row.View(), reading?.Answer));
                foreach (var part in reading?.Answer?.Parts.Where(p => p.Kind == "tool_use") ?? [])
                    tools.Add(new TurnToolCallView(row.Id, part.Name, part.Text, null, IsHiveTool(part.Name)));
            }
            var cost = rows.Any(r => r.CostUsd is not null) ? rows.Sum(r => r.CostUsd ?? 0) : (double?)null;
            var duration = turn.EndedAt is { } ended ? (ended - turn.GrantedAt).TotalMilliseconds : (double?)null;
            var replayed = connection.Query<ReplayRow>($"SELECT {ReplayRow.Columns} FROM replays WHERE source_turn = @Id ORDER BY id", turn)
                .Select(r => r.View(connection)).ToList();
            return new TurnView(turn.Id, turn.Agent, turn.GrantedAt, turn.EndedAt, turn.EndReason, wake, calls, tools, cost, duration,
                NotReplayable(turn, checkpoint is not null, rows), replayed, replays.ReplayOf(turn.Agent), forks.ForkOf(turn.Agent));
        }

        /// <summary>One of the hive's own tools, as Claude Code names an MCP server's (<c>mcp__hive__send</c>) or Gemini CLI does (<c>mcp_hive_send</c>).</summary>
        private static bool IsHiveTool(string? name) =>
            name is not null && (name.StartsWith("mcp__hive__", StringComparison.Ordinal) || name.StartsWith("mcp_hive_", StringComparison.Ordinal));

        /// <summary>Why a replay of the turn would be refused, as far as its rows tell (retention is checked when one is asked for).</summary>
        private string? NotReplayable(ReadGrantedTurn.Turn turn, bool checkpointed, List<CallRow> rows) =>
            turn.EndedAt is null ? "it is still running"
            : replays.IsReplayAgent(turn.Agent) ? "it is a replay's turn"
            : !checkpointed ? "its calls were not recorded when it ran"
            : !rows.Any(r => r.RequestBody is not null && r.ResponseBody is not null) ? "it made no model call whose bodies were recorded"
            : null;
    }
}
