using System.Globalization;
using Hive.Features.Constellation;
using Hive.Features.Containers;
using Hive.Features.Governance;
using Hive.Features.Questions;
using Hive.Shared.Agents;
using MediatR;

namespace Hive.Features.Notifications;

/// <summary>One thing that needs the operator, as a push tells it; <see cref="Subject"/> names the decision it waits on.</summary>
internal sealed record Needs(string Kind, string Subject, string Title, string Body, IReadOnlyList<PushAction> Actions);

/// <summary>A one-tap choice: <c>answer</c> (its value an option), <c>approve</c>, <c>deny</c>, <c>resume_hive</c>.</summary>
internal sealed record PushAction(string Label, string Action, string? Value);

internal static class PushActions
{
    public const string Answer = "answer";
    public const string Approve = "approve";
    public const string Deny = "deny";
    public const string ResumeHive = "resume_hive";

    /// <summary>What ntfy shows at most (its publish API takes three action buttons).</summary>
    public const int Max = 3;
}

/// <summary>
/// Reads a change's events as what needs the operator (<see cref="Needs"/>) and what no longer does (a decided subject):
/// a question to the operator (a budget, watchdog or crash-loop one is told as its kind), an approval, a budget warning, a
/// provider's quota circuit, an agent gone failed, the hive halted.
/// </summary>
internal static class WhatNotifies
{
    /// <summary>Whether <see cref="Read"/> has anything to say of it.</summary>
    public static bool Concerns(INotification notification) => notification is QuestionAdded or QuestionResolved or ApprovalAdded
        or ApprovalResolved or BudgetWarning or QuotaCircuitChanged or AgentWentFailed or HiveHalted or HiveResumed
        or ConstellationOutboxBacklogged or ConstellationOutboxDrained;

    public static (List<Needs> Needs, List<string> Decided) Read(IReadOnlyList<INotification> raised)
    {
        var needs = new List<Needs>();
        var decided = new List<string>();
        var budgetQuestions = raised.OfType<BudgetQuestionAsked>().Select(q => q.QuestionId).ToHashSet();
        var watchdogQuestions = raised.OfType<WatchdogQuestionAsked>().ToDictionary(q => q.QuestionId);
        foreach (var notification in raised)
        {
            switch (notification)
            {
                case QuestionAdded { Question: var q } when q.Target is null or AgentNames.Operator:
                    var kind = budgetQuestions.Contains(q.Id) ? NotificationKinds.Budget
                        : watchdogQuestions.TryGetValue(q.Id, out var fired) ? fired.Rule == WatchdogRules.CrashLoop ? NotificationKinds.Failed : NotificationKinds.Watchdog
                        : NotificationKinds.Question;
                    var actions = q.Multi ? [] : q.Options.Take(PushActions.Max).Select(o => new PushAction(o, PushActions.Answer, o)).ToList();
                    needs.Add(new(kind, Subjects.Question(q.Id), q.Asker == AgentNames.Hive ? "Hive asks" : $"{q.Asker} asks", q.Question, actions));
                    break;
                case QuestionResolved { Question: var q }:
                    decided.Add(Subjects.Question(q.Id));
                    break;
                case ApprovalAdded { Approval: var a }:
                    needs.Add(new(NotificationKinds.Approval, Subjects.Approval(a.Id), $"Approve {a.Kind.Replace('_', ' ')} of {a.Agent}?",
                        $"{a.Requester} asks to {a.Kind.Replace('_', ' ')} {a.Agent} (approval {a.Id}).",
                        [new("Approve", PushActions.Approve, null), new("Deny", PushActions.Deny, null)]));
                    break;
                case ApprovalResolved { Approval: var a }:
                    decided.Add(Subjects.Approval(a.Id));
                    break;
                case BudgetWarning { Figures: var r }:
                    needs.Add(new(NotificationKinds.Budget, $"budget_warning:{r.Scope}:{r.Metric}:{r.Period}",
                        $"Budget: {(r.Scope == "*" ? "the hive" : r.Scope)} near its cap",
                        $"{(r.Scope == "*" ? "The hive" : r.Scope)} has spent {Show(r.Spent)} of its {r.Metric.Replace('_', ' ')} cap {Show(r.Cap)}.", []));
                    break;
                case QuotaCircuitChanged { Until: { } until } circuit:
                    needs.Add(new(NotificationKinds.Quota, Subjects.Quota(circuit.Provider), $"Quota: {circuit.Provider} held",
                        $"A usage or rate limit of {circuit.Provider}: its agents are held until {until.ToUniversalTime():yyyy-MM-dd HH:mm} UTC.", []));
                    break;
                case QuotaCircuitChanged { Until: null } circuit:
                    decided.Add(Subjects.Quota(circuit.Provider));
                    break;
                case AgentWentFailed failed when !watchdogQuestions.Values.Any(w => w.Rule == WatchdogRules.CrashLoop && w.Agent == failed.Agent):
                    needs.Add(new(NotificationKinds.Failed, $"failed:{failed.Agent}:{failed.At.UtcTicks}", $"{failed.Agent} failed",
                        $"{failed.Agent} kept crashing ({failed.How}) and will not be restarted.", []));
                    break;
                case HiveHalted halted:
                    needs.Add(new(NotificationKinds.Halted, Subjects.Halted, "The hive is halted",
                        $"Halted by {halted.By}{(halted.Reason is { } why ? $": {why}" : "")}. No agent works until it is resumed.",
                        [new("Resume the hive", PushActions.ResumeHive, null)]));
                    break;
                case HiveResumed:
                    decided.Add(Subjects.Halted);
                    break;
                case ConstellationOutboxBacklogged backlog:
                    needs.Add(new(NotificationKinds.Constellation, Subjects.Outbox, "Mail for other hives is not leaving",
                        $"{backlog.Depth} message(s) wait in the outbox, the oldest since {backlog.OldestUnsentAt.ToUniversalTime():yyyy-MM-dd HH:mm} UTC: is the broker reachable?", []));
                    break;
                case ConstellationOutboxDrained:
                    decided.Add(Subjects.Outbox);
                    break;
            }
        }
        return (needs, decided);
    }

    private static string Show(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}

/// <summary>The decisions pushes wait on, by name.</summary>
internal static class Subjects
{
    public const string Halted = "halted";
    public const string Outbox = "constellation:outbox";

    public static string Question(long id) => $"question:{id}";
    public static string Approval(long id) => $"approval:{id}";
    public static string Quota(string provider) => $"quota:{provider}";

    /// <summary>The id in <c>question:12</c> or <c>approval:7</c>.</summary>
    public static long IdOf(string subject) => long.Parse(subject[(subject.IndexOf(':') + 1)..], CultureInfo.InvariantCulture);
}
