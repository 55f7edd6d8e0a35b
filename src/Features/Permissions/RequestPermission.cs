using System.Text;
using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Json;
using Hive.Contracts.Permissions;
using Hive.Features.Containers;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Permissions;
using MediatR;

namespace Hive.Features.Permissions;

/// <summary>
/// An agent's harness asks whether the agent may make a tool call. The agent's policy answers it at once (a deny rule,
/// the hive's own tools, an allow rule), or it becomes a question from <c>hive</c> to the operator (or the manager) with
/// the agent's options as its buttons and the policy's TTL; <see cref="ApplyPermissionAnswer"/> decides it then. Every
/// request is a row, decided or asking, in the same change as its question; each decision goes to the audit log.
/// Whatever the agent says of the call is its claim: the policy is the agent CLI's own gate made the operator's, and the
/// sandbox stays the wall.
/// </summary>
public static class RequestPermission
{
    public const int MaxTitleBytes = 1024;
    public const int MaxTextLength = 4096;
    public const int MaxPaths = 64;
    public const int MaxOptions = 8;
    /// <summary>Questions an agent's requests may have open at once: the hive's questions are not counted against an asker's cap, so this is theirs.</summary>
    public const int MaxAskingPerAgent = 8;

    public sealed record Command(string Agent, PermissionArgs Args) : IRequest<PermissionRequestView>, IChangesState;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Args.Title).Must(t => !string.IsNullOrWhiteSpace(t) && Encoding.UTF8.GetByteCount(t) <= MaxTitleBytes)
                .WithMessage($"title is 1 to {MaxTitleBytes} bytes, not blank").OverridePropertyName("title");
            RuleFor(c => c.Args.Kind).Must(k => k is null || k.Length <= 64).WithMessage("kind is at most 64 characters").OverridePropertyName("kind");
            RuleFor(c => c.Args.Tool).Must(t => t is null || t.Length <= 256).WithMessage("tool is at most 256 characters").OverridePropertyName("tool");
            RuleFor(c => c.Args.ToolCallId).Must(t => t is null || t.Length <= 256).WithMessage("tool_call_id is at most 256 characters").OverridePropertyName("tool_call_id");
            RuleFor(c => c.Args.Command).Must(t => t is null || t.Length <= MaxTextLength)
                .WithMessage($"command is at most {MaxTextLength} characters").OverridePropertyName("command");
            RuleFor(c => c.Args.Paths).Must(p => p is null || (p.Length <= MaxPaths && p.All(x => x is { Length: > 0 and <= MaxTextLength } && !x.Contains('\0'))))
                .WithMessage($"paths are at most {MaxPaths}, each 1 to {MaxTextLength} characters without NUL").OverridePropertyName("paths");
            RuleFor(c => c.Args.Options).Must(o => o is { Length: > 0 and <= MaxOptions })
                .WithMessage($"options are 1 to {MaxOptions}: the answers the agent offers").OverridePropertyName("options");
            RuleForEach(c => c.Args.Options).Must(o => o is { Id.Length: > 0 and <= 200 } && (o.Name is null || o.Name.Length <= 1000) && (o.Kind is null || o.Kind.Length <= 64))
                .WithMessage("each option has an id of 1 to 200 characters (a name of at most 1000, a kind of at most 64)").OverridePropertyName("options");
            RuleFor(c => c.Args.Options).Must(o => o!.Select(x => x.Id).Distinct(StringComparer.Ordinal).Count() == o!.Length)
                .WithMessage("option ids must not repeat").OverridePropertyName("options").When(c => c.Args.Options is { Length: > 0 } o && o.All(x => x is not null));
        }
    }

    internal sealed class Handler(StateChanges changes, IMediator mediator, TimeProvider clock, IAuditLog audit) : IRequestHandler<Command, PermissionRequestView>
    {
        public async Task<PermissionRequestView> Handle(Command command, CancellationToken cancellationToken)
        {
            var args = command.Args;
            var paths = args.Paths ?? [];
            var options = args.Options!;
            var policy = await mediator.Send(new ReadAgentPermissions.Query(command.Agent), cancellationToken);
            var (verdict, rule) = PolicyMatch.Decide(policy, new PolicyMatch.Call(args.Kind, args.Tool, args.Command, paths, args.Title!));
            var by = "policy";
            if (verdict != PermissionRules.Verdicts.Deny && IsHiveTool(args.Tool)) (verdict, rule, by) = (PermissionRules.Verdicts.Allow, null, "hive");
            var asking = verdict == PermissionRules.Verdicts.Ask;
            var now = clock.GetUtcNow();
            var change = changes.Current;
            if (asking && change.QuerySingle<long>($"SELECT count(*) FROM permission_requests WHERE agent = @Agent AND state = '{PermissionStates.Asking}'", command)
                >= MaxAskingPerAgent)
                throw new Hive.Shared.Errors.TooManyException($"{command.Agent} has {MaxAskingPerAgent} permission questions open, the most it may; wait for answers first");
            var row = change.QuerySingle<PermissionRow>($"""
                INSERT INTO permission_requests (agent, title, kind, tool, command, paths, options, tool_call_id, asked_at, state, decided_by, rule, option_id, decided_at)
                VALUES (@Agent, @Title, @Kind, @Tool, @Command, @Paths, @Options, @ToolCallId, @now, @state, @by, @rule, @option, @decidedAt)
                RETURNING {PermissionRow.Columns}
                """, new
            {
                command.Agent, args.Title, args.Kind, args.Tool, args.Command, args.ToolCallId, now, rule,
                Paths = JsonSerializer.Serialize(paths), Options = JsonSerializer.Serialize(options, HiveJson.Options),
                state = asking ? PermissionStates.Asking : verdict, by = asking ? null : by,
                option = asking ? null : PermissionOptions.For(options, verdict), decidedAt = asking ? (DateTimeOffset?)null : now,
            });
            if (!asking)
            {
                var decided = row.View();
                change.AfterPublished(() => Audit(audit, decided));
                return decided;
            }
            var question = await mediator.Send(new AskQuestion.Command(AgentNames.Hive, policy?.AskTo == AgentNames.Manager ? AgentNames.Manager : null,
                QuestionOf(row.View()), PermissionOptions.Buttons(options), TtlSeconds: policy?.TtlSeconds ?? PermissionRules.DefaultTtlSeconds), cancellationToken);
            change.Execute("UPDATE permission_requests SET question_id = @question WHERE id = @Id", new { question = question.Id, row.Id });
            row.QuestionId = question.Id;
            return row.View();
        }

        private static bool IsHiveTool(string? tool) => tool?.StartsWith($"mcp__{AgentNames.Hive}__", StringComparison.Ordinal) == true;
    }

    /// <summary>The question as a person reads it: who, what kind of call, what it does, on what; cut to a question's size.</summary>
    internal static string QuestionOf(PermissionRequestView request)
    {
        var text = new StringBuilder($"{request.Agent} asks permission to {Doing(request.Kind)}: {request.Title}");
        if (request.Command is { } line && line != request.Title) text.Append($"\ncommand: {line}");
        if (request.Paths.Count > 0) text.Append($"\nfiles: {string.Join(", ", request.Paths)}");
        if (request.Tool is { } tool) text.Append($"\ntool: {tool}");
        var question = text.ToString();
        while (Encoding.UTF8.GetByteCount(question) > AskQuestion.MaxBytes) question = question[..(question.Length * 9 / 10)] + "…";
        return question;
    }

    private static string Doing(string? kind) => kind switch
    {
        "execute" => "run a command",
        "edit" => "edit files",
        "delete" => "delete files",
        "move" => "move files",
        "read" => "read files",
        "fetch" => "fetch from the network",
        _ => $"use a tool ({kind ?? "of no kind"})",
    };

    internal static void Audit(IAuditLog audit, PermissionRequestView decided) =>
        audit.Record(new AuditEntry(decided.DecidedAt ?? decided.AskedAt, decided.Agent, "permission", decided.Title.Length > 200 ? decided.Title[..200] + "…" : decided.Title,
            $"{decided.State} by {decided.DecidedBy}{(decided.Rule is { } rule ? $" ({rule})" : "")}"));
}
