using Dapper;
using FluentValidation;
using Hive.Contracts.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>The operator's read of an agent's conversation (<c>GET /api/agents/{name}/conversation</c>).</summary>
public static class ReadConversation
{
    public sealed record Query(string Agent) : IRequest<ConversationView>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator(IAgentDirectory agents) =>
            RuleFor(q => q.Agent).Must(agents.IsAgent).WithMessage("no such agent").WithErrorCode(ErrorCodes.NotFound);
    }

    internal sealed class Handler(IDb db) : IRequestHandler<Query, ConversationView>
    {
        public async Task<ConversationView> Handle(Query query, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            var row = await connection.QuerySingleOrDefaultAsync<ConversationRow>(new CommandDefinition(
                $"SELECT {ConversationRow.Columns} FROM conversations WHERE agent = @Agent", query, cancellationToken: cancellationToken));
            return row?.View() ?? ConversationRow.None(query.Agent);
        }
    }
}
