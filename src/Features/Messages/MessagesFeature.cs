using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Metrics;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Messages;

public static class MessagesFeature
{
    public static IServiceCollection AddMessages(this IServiceCollection services)
    {
        DapperSetup.AddJsonColumn<Dictionary<string, System.Text.Json.JsonElement>>();
        services.AddOptions<MessagesOptions>().BindConfiguration("Hive:Messages")
            .Validate(o => o.AckTimeoutSeconds > 0 && o.MaxDeliveries > 0, "Hive:Messages:AckTimeoutSeconds and MaxDeliveries must be positive")
            .Validate(o => o.RetainDays is > 0 and <= 36500 && o.RetentionSweepMinutes is > 0 and <= 10080,
                "Hive:Messages:RetainDays must be more than 0 and at most 36500, RetentionSweepMinutes more than 0 and at most 10080 (a week)")
            .Validate(o => o.BytesPerHour is >= 1024 and <= 1024L * 1024 * 1024 * 1024, "Hive:Messages:BytesPerHour must be between 1024 and 1099511627776")
            .ValidateOnStart();
        services.AddSingleton<MessageRetention>();
        services.AddHostedService(p => p.GetRequiredService<MessageRetention>());
        services.AddSingleton<MessageWriter>();
        services.AddSingleton<InboxSignals>();
        services.AddSingleton<ParkedHandOver>();
        services.AddSingleton<MessageBudget>();
        services.AddTransient<Hive.Shared.Agents.AgentRowContributor, MessageStorageOnAgentRows>();
        services.AddSingleton<Hive.Shared.Search.ISearchSource, MessageSearch.Source>();
        services.AddTransient<IDashboardStateContributor, MessagesStateContributor>();
        services.AddHiveMetrics<MessagesMetrics>();
        return services;
    }
}

/// <summary>
/// The snapshot's <c>inbox</c> and recent <c>messages</c>; older history comes from <c>/api/messages?before=</c>, and
/// reaches back <c>message_retention.days</c> for delivered messages (the retention sweep removes older ones).
/// </summary>
internal sealed class MessagesStateContributor(IMediator mediator, Microsoft.Extensions.Options.IOptions<MessagesOptions> options) : IDashboardStateContributor
{
    public const int RecentCount = 100;

    public async Task ContributeAsync(DashboardState state, CancellationToken cancellationToken)
    {
        state.Set("inbox", await mediator.Send(new ListInbox.Query(null, RecentCount), cancellationToken));
        state.Set("messages", await mediator.Send(new ListMessages.Query(null, RecentCount), cancellationToken));
        state.Set("message_retention", new { days = options.Value.RetainDays });
    }
}
