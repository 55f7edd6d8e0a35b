using Carter;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Containers.Terminal;

/// <summary>The terminal in an agent's sandbox (a WebSocket under /api, so sign-in guards it): routing only.</summary>
public sealed class TerminalModule : CarterModule
{
    public TerminalModule()
    {
        Get("/api/agents/{name}/terminal", (req, res) =>
            req.HttpContext.RequestServices.GetRequiredService<OpenTerminal.Handler>().RunAsync(req.HttpContext, ContainerRoutes.Name(req)));
    }
}
