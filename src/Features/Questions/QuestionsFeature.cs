using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Questions;

public static class QuestionsFeature
{
    public static IServiceCollection AddQuestions(this IServiceCollection services)
    {
        services.AddOptions<QuestionsOptions>().BindConfiguration("Hive:Questions")
            .Validate(o => o.MaxOpenPerAgent > 0 && o.TickSeconds > 0, "Hive:Questions:MaxOpenPerAgent and TickSeconds must be positive");
        services.AddSingleton<QuestionExpiry>();
        services.AddHostedService(p => p.GetRequiredService<QuestionExpiry>());
        return services
            .AddTransient<IDashboardStateContributor, QuestionsStateContributor>()
            .AddTransient<AgentRowContributor, WaitingOnAgentRows>();
    }
}

/// <summary>
/// The snapshot's <c>questions</c>: the oldest pending (at most <see cref="ListQuestions.DefaultPendingLimit"/>, with
/// <c>pending_total</c>) and the most recently answered; bounded whatever the backlog.
/// </summary>
internal sealed class QuestionsStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken) =>
        state.Set("questions", await mediator.Send(new ListQuestions.Query(), cancellationToken));
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
