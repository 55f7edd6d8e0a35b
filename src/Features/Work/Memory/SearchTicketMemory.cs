using FluentValidation;
using Hive.Contracts.Work;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Work.Memory;

/// <summary>
/// Searches the memory of finished tickets (<c>ticket_memory</c>, <c>GET /api/tickets/memory?q=</c>): the outcomes whose
/// title, body, labels or summary hold any of the words asked, the most relevant first (<see cref="TicketOutcomes.Find"/>).
/// The words are quoted before they reach FTS5, so nothing typed is FTS syntax; a query with no word is refused.
/// </summary>
public static class SearchTicketMemory
{
    public const int DefaultLimit = 5;
    public const int MaxLimit = 20;
    public const int MaxQueryLength = 500;

    public sealed record Query(string? Text, int? Limit) : IRequest<TicketMemoryReply>;

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.Text).NotEmpty().OverridePropertyName("query").WithMessage("query: give some words to look for")
                .MaximumLength(MaxQueryLength).WithMessage($"query: at most {MaxQueryLength} characters");
            RuleFor(q => q.Limit).InclusiveBetween(1, MaxLimit).When(q => q.Limit is not null).WithMessage($"limit must be 1 to {MaxLimit}");
        }
    }

    internal sealed class Handler(TicketMemory memory) : IRequestHandler<Query, TicketMemoryReply>
    {
        public Task<TicketMemoryReply> Handle(Query query, CancellationToken cancellationToken)
        {
            var match = TicketOutcomes.MatchOf(query.Text!) ?? throw new BadRequestException("query: give at least one word of letters or digits");
            return Task.FromResult(new TicketMemoryReply(memory.Search(match, query.Limit ?? DefaultLimit)));
        }
    }
}
