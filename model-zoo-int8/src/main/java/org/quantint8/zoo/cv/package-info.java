/**
 * Image translators of the zoo: ImageNet classification for ResNet graphs, on DJL's own image
 * classification translator and transforms ({@link org.quantint8.zoo.cv.ResNetTranslatorFactory}).
 */
package org.quantint8.zoo.cv;
