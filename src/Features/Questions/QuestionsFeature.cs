using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Questions;

public static class QuestionsFeature
{
    public static IServiceCollection AddQuestions(this IServiceCollection services) =>
        services.AddTransient<IDashboardStateContributor, QuestionsStateContributor>();
}

/// <summary>The snapshot's <c>questions</c> (pending and recently answered), and each agent row's waiting state.</summary>
internal sealed class QuestionsStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("questions", await mediator.Send(new ListQuestions.Query(), cancellationToken));
        var waiting = (await mediator.Send(new ListWaitingAgents.Query(), cancellationToken)).ToDictionary(w => w.Agent);
        foreach (var agent in state.Get<List<Dictionary<string, object?>>>("agents"))
        {
            waiting.TryGetValue((string)agent["name"]!, out var w);
            agent["waiting_on"] = w?.WaitingOn;
            agent["waiting_since"] = w?.WaitingSince;
        }
    }
}
