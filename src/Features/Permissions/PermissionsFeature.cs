using Hive.Contracts.Permissions;
using Hive.Shared.Data;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Permissions;

public static class PermissionsFeature
{
    public static IServiceCollection AddPermissions(this IServiceCollection services)
    {
        DapperSetup.AddJsonColumn<PermissionOption[]>();
        DapperSetup.AddJsonColumn<string[]>();
        services.AddSingleton<PermissionWaiters>();
        return services;
    }
}
