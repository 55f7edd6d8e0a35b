using Microsoft.AspNetCore.Http;

namespace Hive.Features.Containers;

/// <summary>What the slice's routes read from a request.</summary>
internal static class ContainerRoutes
{
    /// <summary>The <c>{name}</c> route value (empty when absent: the use case refuses it).</summary>
    public static string Name(HttpRequest req) => req.RouteValues["name"]?.ToString() ?? "";
}
