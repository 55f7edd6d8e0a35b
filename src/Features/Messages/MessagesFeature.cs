using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Messages;

public static class MessagesFeature
{
    public static IServiceCollection AddMessages(this IServiceCollection services)
    {
        services.AddOptions<MessagesOptions>().BindConfiguration("Hive:Messages")
            .Validate(o => o.AckTimeoutSeconds > 0 && o.MaxDeliveries > 0, "Hive:Messages:AckTimeoutSeconds and MaxDeliveries must be positive")
            .ValidateOnStart();
        services.AddSingleton<MessageWriter>();
        services.AddSingleton<InboxSignals>();
        services.AddTransient<IDashboardStateContributor, MessagesStateContributor>();
        return services;
    }
}

/// <summary>The snapshot's <c>inbox</c> and recent <c>messages</c>; older history comes from <c>/api/messages?before=</c>.</summary>
internal sealed class MessagesStateContributor(IMediator mediator) : IDashboardStateContributor
{
    public const int RecentCount = 100;

    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("inbox", await mediator.Send(new ListInbox.Query(null, RecentCount), cancellationToken));
        state.Set("messages", await mediator.Send(new ListMessages.Query(null, RecentCount), cancellationToken));
    }
}
