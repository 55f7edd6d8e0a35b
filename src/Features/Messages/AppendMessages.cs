using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Json;
using Hive.Contracts.Messages;
using Hive.Features.StateFiles;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Search;
using Hive.Shared.Validation;
using MediatR;

namespace Hive.Features.Messages;

/// <summary>
/// System messages from a feature above (a due reminder, an answer), inserted in the caller's running change: sent
/// from inside another request's handler, this joins that handler's transaction, so the messages and the caller's own
/// change commit together or not at all, and their <c>sent</c> events go out after that one commit, in order.
/// </summary>
public static class AppendMessages
{
    public sealed record Draft(string From, string To, string Kind, string Body, IReadOnlyDictionary<string, object?>? Extra);

    public sealed record Command(IReadOnlyList<Draft> Drafts) : IRequest<IReadOnlyList<MessageView>>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleForEach(c => c.Drafts).ChildRules(d =>
            {
                d.RuleFor(x => x.To).KnownRecipient(agents);
                d.RuleFor(x => x.Kind).NotEmpty();
                d.RuleFor(x => x.Body).NotNull();
            });
        }
    }

    internal sealed class Handler(StateChanges changes, InboxSignals signals, IFileRefScanner fileRefs, TimeProvider clock, ISearchIndex search)
        : IRequestHandler<Command, IReadOnlyList<MessageView>>
    {
        public Task<IReadOnlyList<MessageView>> Handle(Command command, CancellationToken cancellationToken)
        {
            const string insert = $"""
                INSERT INTO messages (sender, recipient, kind, body, sent_at, meta)
                VALUES (@From, @To, @Kind, @Body, @SentAt, @Meta)
                RETURNING {MessageRow.Columns};
                """;
            var change = changes.Current;
            var now = clock.GetUtcNow();
            var messages = new List<MessageView>(command.Drafts.Count);
            foreach (var draft in command.Drafts)
            {
                var meta = draft.Extra is { Count: > 0 } extra ? JsonSerializer.Serialize(extra, HiveJson.Options) : null;
                var message = change.QuerySingle<MessageRow>(insert,
                    new { draft.From, draft.To, draft.Kind, draft.Body, SentAt = now, Meta = meta }).View(fileRefs);
                messages.Add(message);
                change.Raise(new MessageSent(message));
                change.AfterPublished(() => signals.Notify(message.To));
            }
            change.AfterPublished(search.Wake); // the index reads the messages behind the change, from its cursor
            return Task.FromResult<IReadOnlyList<MessageView>>(messages);
        }
    }
}
