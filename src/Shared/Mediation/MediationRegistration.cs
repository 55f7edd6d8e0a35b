using System.Reflection;
using FluentValidation;
using Hive.Shared.Changes;
using Hive.Shared.Dashboard;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Shared.Mediation;

public static class MediationRegistration
{
    private static readonly Type[] HandlerInterfaces =
        [typeof(IRequestHandler<,>), typeof(INotificationHandler<>), typeof(IValidator<>)];

    /// <summary>
    /// MediatR 5 has no DI package: register the factory, the mediator, every closed handler and validator in the
    /// given assemblies, the behaviors (first registered = outermost), and last the dashboard relay so it runs after
    /// the features' own notification handlers.
    /// </summary>
    public static IServiceCollection AddHiveMediation(this IServiceCollection services, IEnumerable<Assembly> assemblies)
    {
        services.AddScoped<ServiceFactory>(provider => provider.GetService!);
        services.AddScoped<IMediator, Mediator>();

        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.IsAbstract || type.IsInterface || type.IsGenericTypeDefinition) continue;
            foreach (var contract in type.GetInterfaces())
            {
                if (!contract.IsGenericType || !HandlerInterfaces.Contains(contract.GetGenericTypeDefinition())) continue;
                // Validators are stateless and costly to build (rules, expression trees): one each, as FluentValidation
                // advises. They may depend on singletons only.
                if (contract.GetGenericTypeDefinition() == typeof(IValidator<>)) services.AddSingleton(contract, type);
                else services.AddTransient(contract, type);
            }
        }

        services.AddTransient(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        services.AddTransient(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));
        services.AddTransient(typeof(IPipelineBehavior<,>), typeof(StateChangeBehavior<,>)); // innermost: validation runs outside the gate
        services.AddTransient(typeof(INotificationHandler<>), typeof(DashboardRelay<>));
        return services;
    }
}
