using Hive.Contracts.Forge;
using Hive.Features.Containers;
using Hive.Shared.Agents;
using MediatR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Forge;

public static class ForgeFeature
{
    public static IServiceCollection AddForge(this IServiceCollection services)
    {
        services.AddOptions<ForgeOptions>().BindConfiguration("Hive:Forge")
            .Validate(o => !o.Enabled || (Uri.TryCreate(o.Url, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                                          && url.UserInfo.Length == 0 && url.Query.Length == 0 && url.Fragment.Length == 0),
                "Hive:Forge:Url must be an http(s) address without credentials (Hive:Forge:AdminUser/AdminPassword or AdminToken hold those)")
            .Validate(o => o.TimeoutSeconds is > 0 and <= 3600 && o.PushTimeoutSeconds is > 0 and <= 3600 && o.SweepMinutes is > 0 and <= 10080,
                "Hive:Forge:TimeoutSeconds and PushTimeoutSeconds must be 0 to 3600 (exclusive of 0), SweepMinutes 0 to 10080 (a week)")
            .Validate(o => o.EmailDomain.Length > 0 && !o.EmailDomain.Contains('@'), "Hive:Forge:EmailDomain must be a domain name")
            // The hook's address defaults to the hive's public one (Notifications' Hive:PublicUrl): what Forgejo can reach.
            .Configure<IConfiguration>((o, configuration) =>
            {
                if (o.WebhookUrl.Length == 0 && configuration["Hive:PublicUrl"] is { Length: > 0 } publicUrl)
                    o.WebhookUrl = publicUrl.Trim().TrimEnd('/') + Webhooks.ReceiveForgeWebhook.Route;
            })
            .Validate(o => o.WebhookUrl.Length == 0 || (Uri.TryCreate(o.WebhookUrl, UriKind.Absolute, out var hook) && hook.Scheme is "http" or "https"
                                                        && hook.UserInfo.Length == 0),
                "Hive:Forge:WebhookUrl (or Hive:PublicUrl) must be an http(s) address without credentials")
            .Validate(o => o.WebhookMaxBytes is >= 1024 and <= 64 * 1024 * 1024, "Hive:Forge:WebhookMaxBytes must be 1 KiB to 64 MiB")
            .ValidateOnStart();
        services.AddHttpClient<ForgejoClient>((provider, http) =>
            {
                var options = provider.GetRequiredService<IOptions<ForgeOptions>>().Value;
                if (options.Enabled) http.BaseAddress = new Uri(options.BaseUri, "api/v1/");
                http.Timeout = options.Timeout;
            })
            // A redirect would be followed without the credential at best, to somewhere else at worst: none at all.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddSingleton<ForgeState>();
        services.AddSingleton<Webhooks.WebhookSecret>();
        services.AddTransient<Hive.Shared.Backup.IBackupPart, ForgeBackup>();
        services.AddTransient<ForgeSweep>();
        services.AddSingleton<MetaPusher>();
        services.AddHostedService(p => p.GetRequiredService<MetaPusher>());
        services.AddSingleton<ForgeSweeper>();
        services.AddHostedService(p => p.GetRequiredService<ForgeSweeper>());
        services.AddTransient<AgentRowContributor, ForgeAccountsOnAgentRows>();
        return services;
    }
}

/// <summary>Each agent row's <c>forge</c>: its account as the last sweep found it (null before one, or with the forge off).</summary>
internal sealed class ForgeAccountsOnAgentRows(ForgeState state) : AgentRowContributor<ForgeFacts>
{
    protected override Task<IReadOnlyDictionary<string, ForgeFacts>> ReadAsync(IReadOnlyList<AgentInfo> agents, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, ForgeFacts>>(
            agents.ToDictionary(a => a.Name, a => new ForgeFacts(state.AccountOf(a.Name)), StringComparer.Ordinal));
}

internal sealed record ForgeFacts(ForgeAccount? Forge);

/// <summary>Each meta commit is pushed to <c>core/meta</c> (in the background: the commit never waits for the forge).</summary>
internal sealed class PushMetaCommit(MetaPusher pusher, IOptions<ForgeOptions> options) : INotificationHandler<MetaCommitted>
{
    public Task Handle(MetaCommitted notification, CancellationToken cancellationToken)
    {
        if (options.Value.Enabled) pusher.Push();
        return Task.CompletedTask;
    }
}
