using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.StateFiles;

public static class StateFilesFeature
{
    public static IServiceCollection AddStateFiles(this IServiceCollection services)
    {
        services.AddOptions<StateFilesOptions>().BindConfiguration("Hive:StateFiles");
        services.AddSingleton<IStateFileAllowList, StateFileAllowList>();
        services.AddSingleton<IFileRefScanner, FileRefScanner>();
        return services;
    }
}
