using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.StateFiles;

public static class StateFilesFeature
{
    public static IServiceCollection AddStateFiles(this IServiceCollection services)
    {
        // At start-up, not at the first request: on a machine whose open(2) flags are unknown, Hive does not run.
        Native.RequireSupportedPlatform();
        services.AddOptions<StateFilesOptions>().BindConfiguration("Hive:StateFiles")
            .Validate(o => !o.EffectiveDenyNames.Any(name => name.Contains('\\')),
                "Hive:StateFiles:DenyNames may not contain '\\' (globs have * and ? only)")
            .ValidateOnStart();
        services.AddSingleton<IStateFileAllowList, StateFileAllowList>();
        services.AddSingleton<IFileRefScanner, FileRefScanner>();
        services.AddSingleton<IStateFileWriter, StateFileWriter>();
        return services;
    }
}
