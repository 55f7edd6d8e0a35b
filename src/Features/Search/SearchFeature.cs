using Hive.Shared.Search;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Search;

public static class SearchFeature
{
    /// <summary>Call after <c>AddHiveAgents</c>: this index replaces the kernel's <see cref="NoSearchIndex"/>.</summary>
    public static IServiceCollection AddSearch(this IServiceCollection services)
    {
        services.AddSingleton<ISearchIndex, SearchIndex>();
        services.AddHostedService<SearchBackfill>();
        return services;
    }
}
