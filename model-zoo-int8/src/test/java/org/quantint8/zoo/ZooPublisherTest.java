package org.quantint8.zoo;

import ai.djl.repository.Artifact;
import ai.djl.repository.MRL;
import ai.djl.util.JsonUtils;

import com.google.gson.JsonObject;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Publishing writes both artifacts with checked metadata, atomically. */
public class ZooPublisherTest {

    @Test
    public void metadataDescribesBothArtifactsAndTheirFiles() throws Exception {
        Path root = Files.createTempDirectory("zoo-publish");
        Path vocab = Files.writeString(root.resolveSibling(root.getFileName() + "-vocab.txt"),
                "[PAD]\n[UNK]\n");
        ModelSource source = ZooFixtures.tinyBert().withFile("vocab.txt", vocab);
        ZooRepository repository = ZooRepository.of(root);
        Path entry = ZooPublisher.builder().optRepository(root).build()
                .publish(ZooEntry.BERT_BASE_UNCASED, source);

        Assert.assertEquals(entry, repository.entryFolder(ZooEntry.BERT_BASE_UNCASED));
        Assert.assertEquals(root.relativize(entry).toString().replace('\\', '/'),
                "model/nlp/text_embedding/org/quantint8/zoo/bert_base_uncased");
        MRL mrl = repository.mrl(ZooEntry.BERT_BASE_UNCASED, null);
        List<Artifact> artifacts = mrl.listArtifacts();
        Assert.assertEquals(artifacts.stream().map(Artifact::getName).toList(),
                List.of("bert_base_uncased-int8", "bert_base_uncased-fp32"), "int8 first");
        for (Artifact artifact : artifacts) {
            String precision = artifact.getName().endsWith("int8") ? "int8" : "fp32";
            Assert.assertEquals(artifact.getProperties(),
                    Map.of(Precision.PROPERTY, precision, ZooEntry.WEIGHTS, "random seed 42"));
            Path folder = repository.getResourceDirectory(artifact);
            Assert.assertEquals(Files.readString(folder.resolve("vocab.txt")), "[PAD]\n[UNK]\n");
            for (Artifact.Item item : artifact.getFiles().values()) {
                Path file = folder.resolve(item.getName());
                Assert.assertEquals(item.getSize(), Files.size(file), item.getName());
                Assert.assertEquals(item.getSha1Hash(), AtomicFiles.digest(file, "SHA-1"));
            }
            repository.prepare(artifact, null); // sizes and SHA-256 agree
        }
        JsonObject json = JsonUtils.GSON.fromJson(
                Files.readString(entry.resolve(ZooRepository.METADATA)), JsonObject.class);
        JsonObject model = json.getAsJsonArray("artifacts").get(0).getAsJsonObject()
                .getAsJsonObject("files").getAsJsonObject("model");
        Path int8 = entry.resolve("0.1.0/bert_base_uncased-int8/bert_base_uncased-int8.onnx");
        Assert.assertEquals(model.get(ZooRepository.SHA256).getAsString(),
                AtomicFiles.digest(int8, "SHA-256"));
        Path fp32 = entry.resolve("0.1.0/bert_base_uncased-fp32/bert_base_uncased-fp32.onnx");
        Assert.assertTrue(Files.size(int8) < Files.size(fp32) / 2,
                Files.size(int8) + " vs " + Files.size(fp32));
        Assert.assertEquals(children(root.resolve(ZooPublisher.STAGING)), 0, "nothing left over");
    }

    @Test
    public void failedPublishKeepsThePreviousEntry() throws Exception {
        Path root = Files.createTempDirectory("zoo-publish");
        ZooPublisher publisher = ZooPublisher.builder().optRepository(root).build();
        Path entry = publisher.publish(ZooEntry.GPT2, ZooFixtures.tinyGpt2());
        String metadata = Files.readString(entry.resolve(ZooRepository.METADATA));
        Path int8 = entry.resolve("0.1.0/gpt2-int8/gpt2-int8.onnx");
        byte[] model = Files.readAllBytes(int8);

        // fails after both models are written, while copying the extra file
        ModelSource broken = ModelSource.of(ZooFixtures.tinyGpt2().readModel(), "random seed 7")
                .withFile("vocab.txt", root.resolve("missing-vocab.txt"));
        Assert.expectThrows(NoSuchFileException.class,
                () -> publisher.publish(ZooEntry.GPT2, broken));

        Assert.assertEquals(Files.readString(entry.resolve(ZooRepository.METADATA)), metadata);
        Assert.assertEquals(Files.readAllBytes(int8), model);
        Assert.assertEquals(children(root.resolve(ZooPublisher.STAGING)), 0, "no staging left");
    }

    @Test
    public void republishingReplacesTheEntry() throws Exception {
        Path root = Files.createTempDirectory("zoo-publish");
        ZooPublisher publisher = ZooPublisher.builder().optRepository(root).build();
        publisher.publish(ZooEntry.RESNET50, ZooFixtures.tinyResNet());
        Path entry = publisher.publish(ZooEntry.RESNET50, ModelSource.of(
                ZooFixtures.tinyResNet().readModel(), "random seed 43"));
        Assert.assertTrue(Files.readString(entry.resolve(ZooRepository.METADATA))
                .contains("random seed 43"));
        Assert.assertEquals(children(root.resolve(ZooPublisher.STAGING)), 0);
    }

    @Test
    public void sourceNeedsTheOriginOfItsWeights() throws Exception {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> ModelSource.of(ZooFixtures.tinyGpt2().readModel(), " "));
        Assert.assertTrue(e.getMessage().contains("origin of the weights"), e.getMessage());
        Assert.expectThrows(IllegalArgumentException.class,
                () -> ZooFixtures.tinyGpt2().withFile("../vocab.txt", Path.of("vocab.txt")));
    }

    private static long children(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }
}
