/**
 * The QuantInt8 model zoo: a DJL {@link ai.djl.repository.zoo.ZooProvider} ({@link
 * org.quantint8.zoo.Int8ZooProvider}) whose {@link org.quantint8.zoo.Int8ModelZoo} (group id
 * {@code org.quantint8.zoo}) serves BERT-base-uncased, ResNet-50, GPT-2 and all-MiniLM-L6-v2 in
 * {@code fp32} and {@code int8} from a local repository folder ({@link
 * org.quantint8.zoo.ZooRepository}), which {@link org.quantint8.zoo.ZooPublisher} fills; {@link
 * org.quantint8.zoo.WeightsDownloader} fetches public weights for users with internet. See
 * {@code docs/zoo.md}.
 */
package org.quantint8.zoo;
