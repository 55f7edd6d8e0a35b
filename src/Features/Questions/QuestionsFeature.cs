using Dapper;
using Hive.Contracts.Questions;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Questions;

public static class QuestionsFeature
{
    public static IServiceCollection AddQuestions(this IServiceCollection services)
    {
        DapperSetup.AddJsonColumn<string[]>();
        services.AddOptions<QuestionsOptions>().BindConfiguration("Hive:Questions")
            .Validate(o => o.MaxOpenPerAgent > 0 && o.TickSeconds > 0, "Hive:Questions:MaxOpenPerAgent and TickSeconds must be positive");
        services.AddSingleton<QuestionExpiry>();
        services.AddHostedService(p => p.GetRequiredService<QuestionExpiry>());
        services.AddSingleton<Hive.Shared.Search.ISearchSource, QuestionSearch.Source>();
        return services
            .AddTransient<IDashboardStateContributor, QuestionsStateContributor>()
            .AddTransient<AgentRowContributor, WaitingOnAgentRows>()
            .AddTransient<AgentRowContributor, OpenQuestionsOnAgentRows>()
            .AddTransient<Hive.Shared.LooseEnds.LooseEndsSource, QuestionLooseEnds>();
    }
}

/// <summary>
/// The snapshot's <c>questions</c>: the oldest pending (at most <see cref="ListQuestions.DefaultPendingLimit"/>, with
/// <c>pending_total</c>) and the most recently answered; bounded whatever the backlog. Beside it
/// <c>questions_for_operator</c>: how many open questions wait for the operator (the page's header counts them, and
/// follows with each event's <c>target</c>).
/// </summary>
internal sealed class QuestionsStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("questions", await mediator.Send(new ListQuestions.Query(), cancellationToken));
        var forOperator = await mediator.Send(new ListQuestions.Query(ListQuestions.OperatorOnly, Answered: 0, PendingLimit: 0), cancellationToken);
        state.Set("questions_for_operator", forOperator.PendingTotal);
    }
}

/// <summary>Each agent row's <c>waiting_on</c> and <c>waiting_since</c>: the target of its oldest open question.</summary>
internal sealed class WaitingOnAgentRows(IMediator mediator) : AgentRowContributor<WaitingFacts>
{
    protected override async Task<IReadOnlyDictionary<string, WaitingFacts>> ReadAsync(
        IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        var waiting = (await mediator.Send(new ListWaitingAgents.Query(), cancellationToken)).ToDictionary(w => w.Agent, StringComparer.Ordinal);
        return agents.ToDictionary(a => a.Name, a => waiting.TryGetValue(a.Name, out var w)
            ? new WaitingFacts(w.WaitingOn, w.WaitingSince)
            : new WaitingFacts(null, null), StringComparer.Ordinal);
    }
}

internal sealed record WaitingFacts(string? WaitingOn, DateTimeOffset? WaitingSince);

/// <summary>Each agent row's <c>open_questions</c>: asked by it and waiting, or waiting for its answer (part of its loose ends).</summary>
internal sealed class OpenQuestionsOnAgentRows(IDb db) : AgentRowContributor<OpenQuestionsFacts>
{
    protected override async Task<IReadOnlyDictionary<string, OpenQuestionsFacts>> ReadAsync(
        IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken)
    {
        using var connection = db.Open();
        var counts = (await connection.QueryAsync<(string Agent, long Count)>(new CommandDefinition("""
                SELECT party, count(*) FROM (
                    SELECT asker AS party FROM questions WHERE answered_at IS NULL
                    UNION ALL
                    SELECT target FROM questions WHERE answered_at IS NULL AND target IS NOT NULL)
                GROUP BY party
                """, cancellationToken: cancellationToken)))
            .ToDictionary(c => c.Agent, c => c.Count, StringComparer.Ordinal);
        return agents.ToDictionary(a => a.Name, a => new OpenQuestionsFacts(counts.GetValueOrDefault(a.Name)), StringComparer.Ordinal);
    }
}

internal sealed record OpenQuestionsFacts(long OpenQuestions);
