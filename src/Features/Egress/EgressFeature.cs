using Hive.Features.Egress.Door;
using Hive.Features.Egress.Proxy;
using Hive.Features.Egress.Record;
using Hive.Shared.Egress;
using Hive.Shared.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hive.Features.Egress;

public static class EgressFeature
{
    public static IServiceCollection AddEgress(this IServiceCollection services)
    {
        services.AddOptions<EgressOptions>().BindConfiguration("Hive:Egress").ValidateOnStart();
        services.AddSingleton<IValidateOptions<EgressOptions>, EgressOptionsCheck>();
        services.TryAddSingleton<IEgressResolver, DnsResolver>();
        services.AddSingleton<HostAddresses>();
        services.AddSingleton<EgressPolicy>();
        services.AddSingleton<Ask.EgressAllowances>();
        services.AddSingleton<RefusalThrottle>();
        services.AddSingleton<EgressRecorder>();
        services.AddSingleton<ProxyConnection>();
        services.AddSingleton<ForgeDoors>();
        services.AddHostedService(p => p.GetRequiredService<ForgeDoors>());
        services.AddSingleton<EgressDoors>();
        services.AddSingleton<IAgentEgress>(p => p.GetRequiredService<EgressDoors>()); // over Containers' NoAgentEgress (TryAdd)
        services.AddHostedService(p => p.GetRequiredService<EgressDoors>());
        services.AddHostedService<AttemptRetention>();
        services.AddHiveMetrics<EgressMetrics>();
        return services;
    }
}

/// <summary>Bad egress limits refuse the start with the key's name.</summary>
internal sealed class EgressOptionsCheck : IValidateOptions<EgressOptions>
{
    public ValidateOptionsResult Validate(string? name, EgressOptions o)
    {
        var problems = new List<string>();
        if (o.MaxHeadBytes is < 1024 or > 1024 * 1024) problems.Add("Hive:Egress:MaxHeadBytes must be 1024 to 1048576");
        if (o.HeadTimeoutSeconds is < 1 or > 3600) problems.Add("Hive:Egress:HeadTimeoutSeconds must be 1 to 3600");
        if (o.ResolveTimeoutSeconds is < 1 or > 300) problems.Add("Hive:Egress:ResolveTimeoutSeconds must be 1 to 300");
        if (o.ConnectTimeoutSeconds is < 1 or > 300) problems.Add("Hive:Egress:ConnectTimeoutSeconds must be 1 to 300");
        if (o.RetainDays < 1) problems.Add("Hive:Egress:RetainDays must be at least 1");
        return problems.Count > 0 ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }
}
