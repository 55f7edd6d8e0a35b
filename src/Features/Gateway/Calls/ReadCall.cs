using Dapper;
using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Recordings;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// One model call with what was recorded of it: the request and the response as sent (JSON, or the stream's text), and
/// as a person reads them (<see cref="CallReading"/>: the conversation's last messages, the tool calls, the text). Asked
/// by an agent (<see cref="Query.AskedBy"/>), only its own calls exist: another's is a 404, the same as no call at all.
/// </summary>
public static class ReadCall
{
    public sealed record Query(long Id, string? AskedBy = null) : IRequest<CallDetail>;

    internal sealed class Handler(IDb db, CallBodies bodies) : IRequestHandler<Query, CallDetail>
    {
        public async Task<CallDetail> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var row = await connection.QuerySingleOrDefaultAsync<CallRow>(new CommandDefinition(
                $"SELECT {CallRow.Columns} FROM model_calls WHERE id = @Id", query, cancellationToken: cancellationToken));
            if (row is null || (query.AskedBy is { } agent && row.Agent != agent)) throw new NotFoundException($"no model call {query.Id}");
            var request = row.RequestBody is { } r ? bodies.Read(r) : null;
            var response = row.ResponseBody is { } s ? bodies.Read(s) : null;
            return new CallDetail(row.View(), Text(request), Text(response),
                request is null && response is null ? null : CallReading.Of(row.Protocol, request, response));
        }

        private static string? Text(byte[]? body) => body is null ? null : System.Text.Encoding.UTF8.GetString(body);
    }
}
