using Dapper;
using Hive.Features.Containers;
using Hive.Features.Governance;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Notifications;

/// <summary>
/// A one-tap link from a push: <c>Look</c> says what it would do (the confirm page: a GET never acts, so a link previewer
/// cannot), <c>Act</c> does it, once. A token unknown, altered or expired is 404 and changes nothing; one already used, or
/// whose decision was made by any other path, is 409 saying what was decided. The decision is the operator's, recorded
/// as an intervention noted "via push" in the change that makes it (an approval's deploy runs in changes of its own, so
/// its row follows it).
/// </summary>
public static class ActOnLink
{
    public sealed record Look(string Token) : IRequest<LinkView>;

    public sealed record Act(string Token) : IRequest<LinkView>;

    /// <summary>What the link decides: <c>what</c> in words, and whether it is done.</summary>
    public sealed record LinkView(string Subject, string Action, string Label, string What, bool Done);

    private const string Gone = "this link is unknown or has expired";

    internal sealed class LookHandler(IDb db, IMediator mediator, TimeProvider clock) : IRequestHandler<Look, LinkView>
    {
        public async Task<LinkView> Handle(Look query, CancellationToken cancellationToken)
        {
            var link = Find(db, query.Token, clock.GetUtcNow());
            await EnsureOpenAsync(mediator, link, cancellationToken);
            return new LinkView(link.Subject, link.Action, link.Label, await DescribeAsync(mediator, link, cancellationToken), false);
        }
    }

    internal sealed class ActHandler(IDb db, IMediator mediator, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock)
        : IRequestHandler<Act, LinkView>
    {
        public async Task<LinkView> Handle(Act command, CancellationToken cancellationToken)
        {
            var link = Find(db, command.Token, clock.GetUtcNow());
            await EnsureOpenAsync(mediator, link, cancellationToken);
            var what = await DescribeAsync(mediator, link, cancellationToken);
            var reason = $"via push: {link.Label}";
            if (link.Action == PushActions.Approve)
                await mediator.Send(new ApproveApproval.Command(Subjects.IdOf(link.Subject), reason), CancellationToken.None);
            await changes.RunAsync(scopes, async (change, services) =>
            {
                var inChange = services.GetRequiredService<IMediator>();
                // Taken first, in this change: a second tap waits for it and then finds it used.
                if (change.Execute("UPDATE action_tokens SET used_at = @now WHERE subject = @Subject AND used_at IS NULL",
                        new { now = clock.GetUtcNow(), link.Subject }) == 0 && link.Action != PushActions.Approve)
                    throw new ConflictException("this decision was made already, through another of its links");
                switch (link.Action)
                {
                    case PushActions.Answer:
                        await inChange.Send(new AnswerQuestion.Command(Subjects.IdOf(link.Subject), AgentNames.Operator, link.Value), CancellationToken.None);
                        break;
                    case PushActions.Deny:
                        await inChange.Send(new DenyApproval.Command(Subjects.IdOf(link.Subject), reason), CancellationToken.None);
                        break;
                    case PushActions.ResumeHive:
                        await inChange.Send(new ResumeHive.Command(Actor.Operator, reason), CancellationToken.None);
                        return; // recorded by the resume itself, with this reason
                }
                await inChange.Send(new RecordIntervention(Actor.Operator, link.Action, link.Subject, reason, null, new { decided = what }), CancellationToken.None);
            }, CancellationToken.None);
            return new LinkView(link.Subject, link.Action, link.Label, what, true);
        }
    }

    private sealed record LinkRow(string Subject, string Action, string? Value, string Label, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt);

    private static LinkRow Find(IDb db, string token, DateTimeOffset now)
    {
        // A token is 43 base64url characters; anything else is no token of ours (and is not hashed or looked up).
        if (token.Length != 43 || token.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))) throw new NotFoundException(Gone);
        using var connection = db.Open();
        var link = connection.QuerySingleOrDefault<LinkRow>(
            "SELECT subject, action, value, label, expires_at, used_at FROM action_tokens WHERE token_hash = @hash", new { hash = ActionTokens.Hash(token) });
        if (link is null || link.ExpiresAt <= now) throw new NotFoundException(Gone);
        return link;
    }

    /// <summary>
    /// 409 with what was decided when the decision was made already: by one of its links, or by another path (the
    /// dashboard, hivectl, an agent). What the subject holds now says what was decided, and by whom.
    /// </summary>
    private static async Task EnsureOpenAsync(IMediator mediator, LinkRow link, CancellationToken ct)
    {
        await EnsureUndecidedAsync(mediator, link, ct);
        // Used, and its subject open again (a hive resumed by a link, then halted again): this link's decision is spent.
        if (link.UsedAt is { } used)
            throw new ConflictException($"already decided: {Decided(link)}, through one of its links{At(used)}");
    }

    private static string At(DateTimeOffset? at) => at is { } when ? $" at {when.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : "";

    private static string Decided(LinkRow link) => link.Action switch
    {
        PushActions.ResumeHive => "the hive was resumed",
        _ => link.Subject,
    };

    private static async Task EnsureUndecidedAsync(IMediator mediator, LinkRow link, CancellationToken ct)
    {
        switch (link.Action)
        {
            case PushActions.Answer:
                var question = await mediator.Send(new ReadQuestion.Query(Subjects.IdOf(link.Subject)), ct) ?? throw new NotFoundException(Gone);
                if (question.Answer is { } answer)
                    throw new ConflictException($"already decided: question {question.Id} was answered \"{answer}\" by {question.Answerer}{At(question.AnsweredAt)}");
                break;
            case PushActions.Approve or PushActions.Deny:
                var id = Subjects.IdOf(link.Subject);
                var approval = (await mediator.Send(new ListApprovals.Query("all", id + 1, 1), ct)).SingleOrDefault(a => a.Id == id)
                    ?? throw new NotFoundException(Gone);
                if (approval.Status != ApprovalStatuses.Pending)
                    throw new ConflictException(
                        $"already decided: approval {id} is {approval.Status}{(approval.DecidedBy is { } by ? $" by {by}" : "")}{At(approval.DecidedAt)}");
                break;
            case PushActions.ResumeHive:
                if ((await mediator.Send(new ReadGovernance.Query(), ct)).Halted is null) throw new ConflictException("already decided: the hive was resumed");
                break;
        }
    }

    private static async Task<string> DescribeAsync(IMediator mediator, LinkRow link, CancellationToken ct) => link.Action switch
    {
        PushActions.Answer => $"answer \"{(await mediator.Send(new ReadQuestion.Query(Subjects.IdOf(link.Subject)), ct))?.Question}\" with \"{link.Value}\"",
        PushActions.Approve => $"approve approval {Subjects.IdOf(link.Subject)}",
        PushActions.Deny => $"deny approval {Subjects.IdOf(link.Subject)}",
        PushActions.ResumeHive => "resume the hive",
        _ => link.Label,
    };
}
