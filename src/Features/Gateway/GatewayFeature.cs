using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Dashboard;
using Hive.Features.Gateway.Door;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Gateway.Replays;
using Hive.Shared.Agents;
using Hive.Shared.Dashboard;
using Hive.Shared.Data;
using Hive.Shared.Gateway;
using Hive.Shared.Metrics;
using Hive.Shared.Socket;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Gateway;

public static class GatewayFeature
{
    public static IServiceCollection AddGateway(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>().BindConfiguration("Hive:Gateway").PostConfigure(GatewayProviders.AddShipped).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsCheck>();
        services.AddHttpForwarder();
        services.AddSingleton<GatewayProviders>();
        services.AddSingleton<ProviderLimits>();
        services.AddSingleton<CallBodies>();
        services.AddHostedService(p => p.GetRequiredService<CallBodies>()); // before the server: it stops after, writing what the last calls recorded
        services.AddSingleton<CallFailures>();
        services.AddSingleton<IModelCallFailures>(p => p.GetRequiredService<CallFailures>());
        services.AddSingleton<CallRecording>();
        services.AddSingleton<AgentDoors>();
        services.AddSingleton<IAgentGateways>(p => p.GetRequiredService<AgentDoors>());
        services.AddSingleton<ForwardModelCall>();
        services.AddSingleton<Chains.ChainRouting>();
        services.AddSingleton<IHandoffBriefs>(p => p.GetRequiredService<Chains.ChainRouting>());
        services.AddSingleton<ActiveReplays>();
        services.AddSingleton<ForkedAgents>();
        services.AddSingleton<Hive.Shared.Approvals.IApprovalApplier, ForkApprovals>();
        services.AddSingleton<CheckpointRestore>();
        services.AddSingleton<ReplayModelCall>();
        services.AddSingleton<TurnCheckpoints>();
        services.AddSingleton<ITurnStartWitness>(p => p.GetRequiredService<TurnCheckpoints>());
        services.AddSingleton<IVerbCapture, CaptureReplayVerbs>();
        DapperSetup.AddJsonColumn<Divergence>();
        services.AddSingleton<Served.ServedProviders>();
        services.AddHostedService(p => p.GetRequiredService<Served.ServedProviders>());
        services.AddHostedService<GatewayServer>();
        services.AddHostedService<GatewayStartUp>();
        services.AddSingleton<ModelCallWindows>();
        services.AddSingleton<ProviderWatch>();
        services.AddHostedService<GatewayDashboardLoop>();
        services.AddTransient<AgentRowContributor, GatewayOnAgentRows>();
        services.AddTransient<IDashboardStateContributor, GatewayStateContributor>();
        services.AddHiveMetrics<GatewayMetrics>();
        return services;
    }
}

/// <summary>Bad gateway configuration refuses the start with the key's name and the reason.</summary>
internal sealed class GatewayOptionsCheck : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options) =>
        GatewayProviders.ProblemWith(options) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
