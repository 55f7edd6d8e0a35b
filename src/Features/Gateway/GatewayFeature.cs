using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway;

public static class GatewayFeature
{
    public static IServiceCollection AddGateway(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>().BindConfiguration("Hive:Gateway");
        return services;
    }
}
