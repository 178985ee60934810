import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.client.deployment.ClusterSpecification;
import org.apache.flink.client.deployment.application.ApplicationConfiguration;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.kubernetes.KubernetesClusterClientFactory;
import org.apache.flink.kubernetes.KubernetesClusterDescriptor;
import org.apache.flink.kubernetes.artifact.DefaultKubernetesArtifactUploader;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClientFactory;
import org.apache.flink.kubernetes.kubeclient.KubernetesJobManagerSpecification;
import org.apache.flink.kubernetes.kubeclient.resources.KubernetesPod;
import org.apache.flink.kubernetes.shaded.com.fasterxml.jackson.core.type.TypeReference;
import org.apache.flink.kubernetes.shaded.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.api.model.ConfigMap;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.api.model.HasMetadata;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.api.model.Pod;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.client.utils.Serialization;

/**
 * What Flink's own native Kubernetes client would create for a configuration, built in memory: Flink's
 * KubernetesClusterDescriptor deploys a session or application cluster through a FlinkKubeClient that
 * only records the JobManager specification. Nothing connects to a cluster.
 *
 * <p>Usage: java -cp <classes>:<flink jars> NativeReference <request.json>. The request is a list of
 * {"configuration": {flat keys}, "parseConfigDirs": [dir]}; the answer, on stdout, a list of
 * {"deployment", "resources", "configuration", "configMapConfiguration", "parsed": {dir: configuration}}:
 * configuration is what the descriptor made of the input, configMapConfiguration the config file Flink wrote
 * into its ConfigMap as Flink's own loader reads it back, parsed each conf directory read the same way (each
 * key as {"value", "list"}, see flat).
 */
public final class NativeReference {

    /** Thrown by the recording client once the specification is in hand, to stop the descriptor there. */
    private static final class Recorded extends RuntimeException {
        Recorded() {
            super("recorded", null, false, false);
        }
    }

    public static void main(String[] args) throws Exception {
        ObjectMapper json = Serialization.jsonMapper();
        List<Map<String, Object>> requests =
                json.readValue(new File(args[0]), new TypeReference<List<Map<String, Object>>>() {});
        List<Map<String, Object>> answers = new ArrayList<>();
        for (Map<String, Object> request : requests) answers.add(answer(request));
        System.out.println(json.writeValueAsString(answers));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> answer(Map<String, Object> request) throws Exception {
        Map<String, Object> result = new LinkedHashMap<>();
        Map<String, String> input = (Map<String, String>) request.get("configuration");
        if (input != null) {
            Configuration config = Configuration.fromMap(input);
            KubernetesJobManagerSpecification spec = deploy(config);
            result.put("deployment", spec.getDeployment());
            result.put("resources", spec.getAccompanyingResources());
            result.put("configuration", new TreeMap<>(config.toMap()));
            result.put("configMapConfiguration", readBack(spec.getAccompanyingResources()));
        }
        Map<String, Object> parsed = new LinkedHashMap<>();
        for (String dir : (List<String>) request.getOrDefault("parseConfigDirs", List.of())) {
            parsed.put(dir, flat(GlobalConfiguration.loadConfiguration(dir)));
        }
        result.put("parsed", parsed);
        return result;
    }

    /** The config file of Flink's flink-config ConfigMap, as Flink's own loader reads it in a pod. */
    private static Map<String, Object> readBack(List<HasMetadata> resources) throws Exception {
        String file = GlobalConfiguration.getFlinkConfFilename();
        for (HasMetadata resource : resources) {
            if (!(resource instanceof ConfigMap) || !resource.getMetadata().getName().startsWith("flink-config-")) continue;
            Path dir = Files.createTempDirectory("native-reference-conf-");
            try {
                Files.writeString(dir.resolve(file), ((ConfigMap) resource).getData().get(file));
                return flat(GlobalConfiguration.loadConfiguration(dir.toString()));
            } finally {
                Files.delete(dir.resolve(file));
                Files.delete(dir);
            }
        }
        throw new IllegalStateException("Flink created no flink-config ConfigMap");
    }

    /**
     * Each key's value as Flink prints it, and as Flink converts it to a list of strings: a list written as a
     * YAML sequence and the same list in Flink's a;b syntax print differently but convert the same.
     */
    private static Map<String, Object> flat(Configuration config) {
        Map<String, Object> out = new TreeMap<>();
        config.toMap().forEach((key, value) -> {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("value", value);
            try {
                entry.put("list", config.get(ConfigOptions.key(key).stringType().asList().noDefaultValue()));
            } catch (RuntimeException notAList) {
                entry.put("list", null);
            }
            out.put(key, entry);
        });
        return out;
    }

    /** Deploys the way Flink's CLI and the reference operator do: cluster specification from the configuration. */
    private static KubernetesJobManagerSpecification deploy(Configuration config) throws Exception {
        List<KubernetesJobManagerSpecification> recorded = new ArrayList<>();
        FlinkKubeClientFactory factory =
                new FlinkKubeClientFactory() {
                    @Override
                    public FlinkKubeClient fromConfiguration(Configuration c, String useCase) {
                        return recordingClient(recorded);
                    }
                };
        ClusterSpecification clusterSpec = new KubernetesClusterClientFactory().getClusterSpecification(config);
        KubernetesClusterDescriptor descriptor =
                new KubernetesClusterDescriptor(config, factory, new DefaultKubernetesArtifactUploader());
        try {
            if ("kubernetes-application".equals(config.toMap().get("execution.target"))) {
                descriptor.deployApplicationCluster(clusterSpec, ApplicationConfiguration.fromConfiguration(config));
            } else {
                descriptor.deploySessionCluster(clusterSpec);
            }
        } catch (Recorded expected) {
            // The descriptor asks for the REST endpoint only after creating everything.
        }
        if (recorded.size() != 1) throw new IllegalStateException("Flink created " + recorded.size() + " JobManagers");
        return recorded.get(0);
    }

    private static FlinkKubeClient recordingClient(List<KubernetesJobManagerSpecification> recorded) {
        return (FlinkKubeClient)
                Proxy.newProxyInstance(
                        FlinkKubeClient.class.getClassLoader(),
                        new Class<?>[] {FlinkKubeClient.class},
                        (proxy, method, args) -> {
                            switch (method.getName()) {
                                case "createJobManagerComponent":
                                    recorded.add((KubernetesJobManagerSpecification) args[0]);
                                    return null;
                                case "loadPodFromTemplateFile":
                                    try (InputStream in = new FileInputStream((File) args[0])) {
                                        return new KubernetesPod(Serialization.unmarshal(in, Pod.class));
                                    }
                                case "getRestEndpoint":
                                    throw new Recorded();
                                default:
                                    return emptyResult(method);
                            }
                        });
    }

    /** Nothing exists yet: no services, no config maps; asynchronous calls succeed at once. */
    private static Object emptyResult(Method method) {
        Class<?> type = method.getReturnType();
        if (type == Optional.class) return Optional.empty();
        if (type == CompletableFuture.class) return CompletableFuture.completedFuture(null);
        if (type == List.class) return List.of();
        if (type == boolean.class) return false;
        return null;
    }
}
