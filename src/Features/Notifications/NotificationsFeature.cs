using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Notifications;

public static class NotificationsFeature
{
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        DapperSetup.AddJsonColumn<List<PushAction>>();
        services.AddOptions<NotificationsOptions>().BindConfiguration("Hive:Notifications")
            .Validate(o => o.Channels.All(c => c.Value.Type is ChannelTypes.Ntfy or ChannelTypes.Webhook),
                "Hive:Notifications:Channels:<name>:Type must be ntfy or webhook")
            .Validate(o => o.Channels.All(c => Uri.TryCreate(c.Value.Url, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                                               && (c.Value.Type != ChannelTypes.Ntfy || url.AbsolutePath.Trim('/').Length > 0)),
                "Hive:Notifications:Channels:<name>:Url must be an http(s) URL (for ntfy, the topic's: https://ntfy.sh/<topic>)")
            .Validate(o => o.Channels.All(c => c.Value.Type != ChannelTypes.Webhook || !string.IsNullOrWhiteSpace(c.Value.SecretFile)),
                "Hive:Notifications:Channels:<name>:SecretFile is required for a webhook (the file holding its HMAC key)")
            .Validate(o => o.Channels.All(c => c.Value.Kinds.All(NotificationKinds.All.Contains)) && o.Kinds.Keys.All(NotificationKinds.All.Contains),
                $"Hive:Notifications: a kind must be one of {string.Join(", ", NotificationKinds.All.Order())}")
            .Validate(o => o.Kinds.Values.All(k => k.DelaySeconds is >= 0 and <= 86_400) && o.BatchSeconds is >= 0 and <= 3600
                           && o.ActionMinutes is > 0 and <= 10_080 && o.MaxRetrySeconds is >= 1 and <= 86_400,
                "Hive:Notifications: DelaySeconds 0 to 86400, BatchSeconds 0 to 3600, ActionMinutes above 0 to 10080, MaxRetrySeconds 1 to 86400")
            .ValidateOnStart();
        services.AddSingleton(p => new PublicUrl(p.GetRequiredService<IConfiguration>()["Hive:PublicUrl"]));
        services.AddSingleton<ActionTokens>();
        services.AddSingleton<ChannelStates>();
        services.AddHiveMetrics<NotificationsMetrics>();
        services.AddSingleton<NotificationOutboxSignal>();
        services.AddSingleton<NotificationOutbox>();
        services.AddSingleton<IChangeWitness>(p => p.GetRequiredService<NotificationOutbox>());
        services.AddSingleton<NotificationSender>();
        services.AddHostedService(p => p.GetRequiredService<NotificationSender>());
        return services;
    }
}
