using Hive.Shared.Search;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Search;

public static class SearchFeature
{
    /// <summary>Call after <c>AddHiveAgents</c>: this index replaces the kernel's <see cref="NoSearchIndex"/>.</summary>
    public static IServiceCollection AddSearch(this IServiceCollection services)
    {
        services.AddOptions<SearchOptions>().BindConfiguration("Hive:Search")
            .Validate(o => o.BatchSize is >= 1 and <= 10_000, "Hive:Search:BatchSize must be 1 to 10000")
            .Validate(o => o.DelayMs is >= 0 and <= 10_000, "Hive:Search:DelayMs must be 0 to 10000")
            .Validate(o => o.MaxDelayMs >= o.DelayMs && o.MaxDelayMs <= 60_000, "Hive:Search:MaxDelayMs must be DelayMs to 60000")
            .ValidateOnStart();
        services.AddSingleton<SearchSignal>();
        services.AddSingleton<SearchIndex>();
        services.AddSingleton<ISearchIndex>(p => p.GetRequiredService<SearchIndex>());
        services.AddSingleton<SearchIndexer>();
        services.AddHostedService(p => p.GetRequiredService<SearchIndexer>());
        return services;
    }
}
